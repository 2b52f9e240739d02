package mockidp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

func kids(t *testing.T, srv *mockidp.Server, env string) []string {
	t.Helper()
	resp, err := http.Get(srv.Endpoints(env).JWKS)
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []struct{ Kid string } }
	decodeJSON(t, resp, &set)
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// freshVerifier is a relying party that fetches the JWKS now and ignores
// expiry, so only the key decides.
func freshVerifier(t *testing.T, srv *mockidp.Server, env string) *oidc.IDTokenVerifier {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), srv.Issuer(env))
	if err != nil {
		t.Fatal(err)
	}
	return p.Verifier(&oidc.Config{ClientID: config.CLIClientID, SkipExpiryCheck: true, SupportedSigningAlgs: []string{"RS256", "ES256"}})
}

func TestRotatedKeyVerifiesDuringTheGracePeriodAndNotAfter(t *testing.T) {
	clk := newClock()
	srv := idptest.NewTestServer(t, testConfig(t), mockidp.Options{Now: clk.Now})
	before, _ := srv.Mint("alice", "dev", mockidp.MintOptions{})
	oldKids := kids(t, srv, "dev")

	if err := srv.RotateKeys("dev"); err != nil {
		t.Fatal(err)
	}
	after, _ := srv.Mint("alice", "dev", mockidp.MintOptions{})
	if headerOf(t, after.IDToken)["kid"] == headerOf(t, before.IDToken)["kid"] {
		t.Fatal("rotation did not change the signing key")
	}
	if got := kids(t, srv, "dev"); len(got) != 2 || got[1] != oldKids[0] {
		t.Fatalf("JWKS after rotation %v, want the new key then %v", got, oldKids)
	}
	if !slices.Equal(kids(t, srv, "gen"), kids(t, srv, "gen")[:1]) {
		t.Error("rotating dev touched gen")
	}

	// Grace is token TTL (5m) + 5m.
	clk.Advance(9*time.Minute + 59*time.Second)
	v := freshVerifier(t, srv, "dev")
	for name, tok := range map[string]string{"before": before.IDToken, "after": after.IDToken} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("token signed %s rotation, inside the grace period: %v", name, err)
		}
	}
	clk.Advance(2 * time.Second)
	if got := kids(t, srv, "dev"); len(got) != 1 || got[0] == oldKids[0] {
		t.Fatalf("JWKS after the grace period %v", got)
	}
	v = freshVerifier(t, srv, "dev")
	if _, err := v.Verify(context.Background(), before.IDToken); err == nil {
		t.Error("a token signed by the retired key verifies after the grace period")
	}
	if _, err := v.Verify(context.Background(), after.IDToken); err != nil {
		t.Errorf("token of the new key: %v", err)
	}
}

// handlerTransport serves requests with a handler, no network: for a
// server whose base URL is fixed and not listened on.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func TestKeysAreReusedAcrossRestartsSoIssuedTokensStayValid(t *testing.T) {
	store := state.NewMemory()
	cfg := testConfig(t)
	opts := mockidp.Options{Store: store, BaseURL: "http://idp.test:9400"}
	first, err := mockidp.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := first.Mint("bob", "prod", mockidp.MintOptions{})
	second, err := mockidp.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := oidc.ClientContext(context.Background(), &http.Client{Transport: handlerTransport{second.Handler()}})
	p, err := oidc.NewProvider(ctx, second.Issuer("prod"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verifier(&oidc.Config{ClientID: config.CLIClientID, SupportedSigningAlgs: []string{"ES256"}}).Verify(ctx, tok.IDToken); err != nil {
		t.Fatalf("a restarted IdP refuses its own token: %v", err)
	}
	if first.ProxyClientSecret() != second.ProxyClientSecret() {
		t.Error("the proxy client secret changed across restarts")
	}
	if s, _ := mockidp.ProxyClientSecret(store); s != second.ProxyClientSecret() {
		t.Error("ProxyClientSecret(store) differs from the server's")
	}
}

func TestChangingTheAlgorithmRotatesToAKeyOfThatAlgorithm(t *testing.T) {
	store := state.NewMemory()
	idptest.NewTestServer(t, idptest.Config(t, "personas: {alice: {}}\nenvironments: {dev: {alg: RS256}}\n"), mockidp.Options{Store: store})
	srv := idptest.NewTestServer(t, idptest.Config(t, "personas: {alice: {}}\nenvironments: {dev: {alg: ES256}}\n"), mockidp.Options{Store: store})
	tok, _ := srv.Mint("alice", "dev", mockidp.MintOptions{})
	if alg := headerOf(t, tok.AccessToken)["alg"]; alg != "ES256" {
		t.Fatalf("alg %v", alg)
	}
	if _, err := freshVerifier(t, srv, "dev").Verify(context.Background(), tok.IDToken); err != nil {
		t.Fatal(err)
	}
}

func TestKeyRotationInTheStoreReachesAStartedServer(t *testing.T) {
	store := state.NewMemory()
	cfg := testConfig(t)
	srv := idptest.NewTestServer(t, cfg, mockidp.Options{Store: store, KeyReload: 10 * time.Millisecond})
	old := kids(t, srv, "dev")
	info, err := mockidp.RotateStoredKeys(store, cfg, "dev", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Retired) != 1 || info.Retired[0].KID != old[0] {
		t.Fatalf("rotation info %+v", info)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && kids(t, srv, "dev")[0] != info.ActiveKID {
		time.Sleep(10 * time.Millisecond)
	}
	if got := kids(t, srv, "dev"); !slices.Equal(got, []string{info.ActiveKID, old[0]}) {
		t.Fatalf("JWKS %v, want [%s %s]", got, info.ActiveKID, old[0])
	}
	tok, _ := srv.Mint("alice", "dev", mockidp.MintOptions{})
	if kid := headerOf(t, tok.AccessToken)["kid"]; kid != info.ActiveKID {
		t.Errorf("signed with %v, want %s", kid, info.ActiveKID)
	}
}
