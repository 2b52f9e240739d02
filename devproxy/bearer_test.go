package devproxy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc/oidctest"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/mockidp"
)

// issuer is an OIDC issuer whose keys the test holds, to craft tokens the
// mock IdP would never sign.
type issuer struct {
	url    string
	rsa    *rsa.PrivateKey
	ec     *ecdsa.PrivateKey
	pubPEM []byte
}

func newIssuer(t *testing.T) *issuer {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := &oidctest.Server{
		PublicKeys: []oidctest.PublicKey{
			{PublicKey: rk.Public(), KeyID: "rsa-1", Algorithm: "RS256"},
			{PublicKey: ek.Public(), KeyID: "ec-1", Algorithm: "ES256"},
		},
		Algorithms: []string{"RS256", "ES256"},
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	srv.SetIssuer(hs.URL)
	der, _ := x509.MarshalPKIXPublicKey(rk.Public())
	return &issuer{url: hs.URL, rsa: rk, ec: ek, pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
}

func (is *issuer) claims(mod func(map[string]any)) string {
	now := time.Now()
	c := map[string]any{"iss": is.url, "aud": "api://test", "sub": "u-1", "email": "dana@example.com",
		"groups": []string{"ops"}, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	if mod != nil {
		mod(c)
	}
	b, _ := json.Marshal(c)
	return string(b)
}

func (is *issuer) sign(mod func(map[string]any)) string {
	return oidctest.SignIDToken(is.rsa, "rsa-1", "RS256", is.claims(mod))
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// startFor runs a proxy whose only environment is is.
func startFor(t *testing.T, is *issuer, backend string) (*devproxy.Proxy, string, *events) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ev := &events{}
	secret := make([]byte, devproxy.CookieSecretSize)
	rand.Read(secret)
	keyPEM, _ := devproxy.NewAssertionKey(rand.Reader)
	key, _ := devproxy.ParseAssertionKey(keyPEM)
	p, err := devproxy.New(devproxy.Options{
		PublicURL:    "http://" + ln.Addr().String(),
		Environments: []devproxy.Environment{{Name: "t", Issuer: is.url, ClientID: "authdev-proxy", Audience: "api://test", Roles: map[string][]string{"ops": {"operator"}}}},
		Upstreams:    upstreamTo(backend),
		CookieSecret: secret, AssertionKey: key, Events: ev.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ln)
	t.Cleanup(func() { p.Shutdown(t.Context()) })
	return p, "http://" + ln.Addr().String(), ev
}

func TestBearerTokensAreVerifiedAndRefusedWithAReason(t *testing.T) {
	is := newIssuer(t)
	_, url, ev := startFor(t, is, echoBackend(t, "api").URL)
	good := is.sign(nil)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + b64(is.claims(func(c map[string]any) { c["groups"] = []string{"admins"} })) + "." + parts[2]
	none := b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(is.claims(nil)) + "."
	hsHead := b64(`{"alg":"HS256","kid":"rsa-1","typ":"JWT"}`) + "." + b64(is.claims(nil))
	mac := hmac.New(sha256.New, is.pubPEM)
	mac.Write([]byte(hsHead))
	hs256 := hsHead + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)

	tests := []struct {
		name, token, wantCode, wantDesc string
	}{
		{"a tampered payload", tampered, "invalid_token", "signature"},
		{"an expired token", is.sign(func(c map[string]any) { c["exp"] = time.Now().Add(-10 * time.Minute).Unix() }), "invalid_token", "expired"},
		{"a token not valid yet", is.sign(func(c map[string]any) { c["nbf"] = time.Now().Add(10 * time.Minute).Unix() }), "invalid_token", "not valid yet"},
		// Okta, Keycloak, Cognito and Auth0 send no nbf: a token issued by
		// an IdP whose clock runs ahead says so by its iat.
		{"a token issued in the future, without nbf", is.sign(func(c map[string]any) {
			delete(c, "nbf")
			c["iat"] = time.Now().Add(10 * time.Minute).Unix()
		}), "invalid_token", "issued in the future"},
		{"a token of another issuer", is.sign(func(c map[string]any) { c["iss"] = "https://evil.example" }), "invalid_token", "issued by https://evil.example, this proxy is in t"},
		{"a token for another audience", is.sign(func(c map[string]any) { c["aud"] = "api://other" }), "invalid_token", "audience"},
		{"alg none", none, "invalid_token", "algorithm"},
		{"HS256 keyed with the public key", hs256, "invalid_token", "algorithm"},
		{"a key the issuer never published", oidctest.SignIDToken(otherKey, "rsa-1", "RS256", is.claims(nil)), "invalid_token", "signature"},
		{"not a JWT", "opaque-token", "invalid_token", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, http.DefaultClient, url+"/x", "Authorization", "Bearer "+tt.token)
			text := body(resp)
			ch := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(ch, `error="`+tt.wantCode+`"`) || !strings.Contains(ch, tt.wantDesc) {
				t.Fatalf("status %d, WWW-Authenticate %q: %.200s", resp.StatusCode, ch, text)
			}
		})
	}
	resp := get(t, http.DefaultClient, url+"/x", "Authorization", "Bearer "+good)
	s := readSeen(t, resp)
	if u := s.header("X-Remote-User"); len(u) != 1 || u[0] != "dana@example.com" || s.header("X-Remote-Roles")[0] != "operator" {
		t.Fatalf("good token: backend saw %v / %v", u, s.header("X-Remote-Roles"))
	}
	resp = get(t, http.DefaultClient, url+"/x", "Authorization", "Bearer ")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("empty bearer: %d", resp.StatusCode)
	}
	refused := ev.of(audit.KindTokenRefused)
	if len(refused) != len(tests)+1 {
		t.Errorf("%d refusals recorded, want %d", len(refused), len(tests)+1)
	}
	log, _ := json.Marshal(ev.all())
	for _, tok := range []string{good, tampered, parts[2]} {
		if strings.Contains(string(log), tok) {
			t.Fatal("a token appears in the audit trail")
		}
	}
}

func TestBearerTokensOfTheMockIdPFollowKeyRotationAndTheActiveEnvironment(t *testing.T) {
	e := start(t, setup{upstreams: upstreamTo(echoBackend(t, "api").URL)})
	mint := func(persona, env string) string {
		ts, err := e.idp.Mint(persona, env, mockidp.MintOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ts.AccessToken
	}
	s := readSeen(t, get(t, http.DefaultClient, e.url+"/x", "Authorization", "Bearer "+mint("alice", "dev")))
	if s.header("X-Remote-User")[0] != "alice@example.com" {
		t.Fatalf("backend saw %v", s.header("X-Remote-User"))
	}
	if err := e.idp.RotateKeys("dev"); err != nil {
		t.Fatal(err)
	}
	// The new kid is unknown to the proxy's cached JWKS: it fetches again.
	s = readSeen(t, get(t, http.DefaultClient, e.url+"/x", "Authorization", "Bearer "+mint("bob", "dev")))
	if s.header("X-Remote-User")[0] != "bob@example.com" {
		t.Fatalf("after rotation backend saw %v", s.header("X-Remote-User"))
	}
	resp := get(t, http.DefaultClient, e.url+"/x", "Authorization", "Bearer "+mint("bob", "prod"))
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a prod token while dev is active: %d", resp.StatusCode)
	}
	var req []audit.Event
	for _, ev := range e.events.of(audit.KindRequest) {
		if ev.Via == "bearer" && ev.Status == 200 {
			req = append(req, ev)
		}
	}
	if len(req) != 2 || req[0].Persona != "alice" || req[1].Persona != "bob" {
		t.Fatalf("bearer request events: %+v", req)
	}
}

func ExampleProxy_bearer() {
	fmt.Println(`curl -H "Authorization: Bearer $(authdev token --as alice)" https://127.0.0.1:8443/api`)
	// Output: curl -H "Authorization: Bearer $(authdev token --as alice)" https://127.0.0.1:8443/api
}
