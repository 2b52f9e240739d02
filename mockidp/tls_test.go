package mockidp_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

// Clients that insist on an https issuer (step CLI, several SDKs) use the
// IdP under idp.tls: its certificate comes from authdev's local CA, and
// go-oidc trusting that CA discovers, fetches keys and verifies over TLS
// on every loopback name.
func TestTLSIssuerServesHTTPSFromTheLocalCA(t *testing.T) {
	srv, ca, tc := tlsServer(t)
	iss := srv.Issuer("dev")
	if !strings.HasPrefix(iss, "https://localhost:") || !strings.HasSuffix(iss, "/dev") {
		t.Fatalf("issuer %s, want https://localhost:<port>/dev", iss)
	}
	trusting := idpClient(ca)
	if _, err := http.Get(srv.Endpoints("dev").Discovery); err == nil {
		t.Error("a client that does not trust the local CA got through")
	}
	ctx := oidc.ClientContext(context.Background(), trusting)
	for _, env := range []string{"dev", "okta", "prod", "a0"} {
		p, err := oidc.NewProvider(ctx, srv.Issuer(env))
		if err != nil {
			t.Fatalf("go-oidc discovery of %s over TLS: %v", srv.Issuer(env), err)
		}
		ts, err := srv.Mint("alice", env, mockidp.MintOptions{ClientID: "webapp"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Verifier(&oidc.Config{ClientID: "webapp", SupportedSigningAlgs: []string{"RS256", "ES256"}}).Verify(ctx, ts.IDToken); err != nil {
			t.Errorf("%s: verify over TLS: %v", env, err)
		}
	}
	cc := clientcredentials.Config{ClientID: "ci", ClientSecret: "ci-secret", TokenURL: srv.Endpoints("dev").Token}
	if _, err := cc.Token(ctx); err != nil {
		t.Errorf("client_credentials over TLS: %v", err)
	}
	// The certificate names every loopback spelling.
	resp, err := trusting.Get(strings.Replace(srv.Endpoints("dev").Discovery, "localhost", "127.0.0.1", 1))
	if err != nil {
		t.Fatalf("https on 127.0.0.1: %v", err)
	}
	resp.Body.Close()
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := tc.Certificates[0].Leaf.VerifyHostname(host); err != nil {
			t.Errorf("the IdP's certificate does not name %s: %v", host, err)
		}
	}
}

// idpClient trusts authdev's local CA, as a client configured with
// `authdev ca print` does.
func idpClient(ca *pki.CA) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
}

// tlsServer starts the test configuration's IdP under idp.tls, with its
// certificate from a new local CA.
func tlsServer(t *testing.T) (*mockidp.Server, *pki.CA, *tls.Config) {
	t.Helper()
	store := state.NewMemory()
	ca, err := pki.LoadOrCreate(store, time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := mockidp.TLSConfig(ca, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.IDP.TLS = true
	return idptest.NewTestServer(t, cfg, mockidp.Options{Store: store, TLS: tc}), ca, tc
}
