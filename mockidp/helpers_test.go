package mockidp_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

// testYAML has a flavor per environment and clients of every kind.
const testYAML = `
idp:
  token_ttl: 5m
  clients:
    - id: webapp
      secret: webapp-secret
      redirect_uris: [http://127.0.0.1:5555/callback, https://app.example.com/cb]
      post_logout_redirect_uris: [https://app.example.com/bye]
    - id: spa
      redirect_uris: [http://localhost:5173/callback]
    - id: ci
      secret: ci-secret
      grants: [client_credentials, "urn:ietf:params:oauth:grant-type:token-exchange"]
      roles: [Orders.Read.All]
    - id: curl-app
      secret: "a+b%2Fc"
      grants: [client_credentials]
    - id: orders
      secret: orders-secret
      audience: orders-api
      grants: [client_credentials, "urn:ietf:params:oauth:grant-type:token-exchange"]
personas:
  alice:
    name: Alice Admin
    email: alice@example.com
    groups: [eng-admins]
    claims: {department: platform, iss: evil}
    envs:
      prod: {groups: [sg-prod-admins]}
  bob: {name: Bob Builder, email: bob@example.com, groups: [eng]}
environments:
  dev:
    flavor: generic
    roles: {eng-admins: [admin], eng: [reader]}
  okta: {flavor: okta, roles: {eng-admins: [admin]}}
  prod:
    flavor: entra
    alg: ES256
    audience: api://prod
    roles: {sg-prod-admins: [admin], eng: [reader]}
    entra: {idtyp_app: true}
  kc:
    flavor: keycloak
    roles: {eng-admins: [admin]}
    keycloak: {realm: platform, client_roles: {orders-api: {eng-admins: [orders-admin]}}}
  cog: {flavor: cognito}
  a0: {flavor: auth0, roles: {eng-admins: [admin]}}
  a9: {flavor: auth0, roles: {eng-admins: [admin]}, auth0: {rfc9068: true, permissions: {admin: ["read:users", "write:users"]}}}
  gen: {flavor: generic, roles: {eng: [reader]}}
  fs: {flavor: adfs, roles: {eng-admins: [admin, auditor]}}
  es: {flavor: generic, alg: ES256, audience: api://es}
`

func testConfig(t testing.TB) *config.Config { return idptest.Config(t, testYAML) }

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// browser is an HTTP client that keeps cookies and stops at redirects that
// leave the IdP, like a browser whose app is not running.
func browser(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func pkce() (verifier, challenge string) {
	verifier = oauth2.GenerateVerifier()
	h := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(h[:])
}

// redirectOf follows an authorize URL and returns where the IdP sends the
// browser, failing unless it is a redirect.
func redirectOf(t testing.TB, c *http.Client, method, u string, form url.Values) *url.URL {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = c.PostForm(u, form)
	} else {
		resp, err = c.Get(u)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("%s %s: status %d, want a redirect:\n%s", method, u, resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func oauthConfig(srv *mockidp.Server, env, id, secret, redirect string, scopes ...string) *oauth2.Config {
	ep := srv.Endpoints(env)
	return &oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: ep.Authorization, TokenURL: ep.Token, DeviceAuthURL: ep.DeviceAuthorization}}
}

func verifier(t testing.TB, srv *mockidp.Server, env, clientID string, now func() time.Time) *oidc.IDTokenVerifier {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), srv.Issuer(env))
	if err != nil {
		t.Fatalf("discovery of %s: %v", env, err)
	}
	cfg := &oidc.Config{ClientID: clientID, SupportedSigningAlgs: []string{"RS256", "ES256"}}
	if now != nil {
		cfg.Now = now
	}
	return p.Verifier(cfg)
}

func claimsOf(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func headerOf(t testing.TB, jwt string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// postForm sends a form to u with optional Basic credentials and decodes
// the JSON answer.
func postForm(t testing.TB, u string, form url.Values, user, pass string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("POST %s: status %d, not JSON: %s", u, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, m, resp.Header
}
