package stack

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/demoapp"
	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/internal/testkit"
)

// startUp runs `authdev up` with opts on loopback: the proxy at
// opts.ProxyListen when given, else, as the IdP, on a free port.
func startUp(t *testing.T, opts Options) *Stack {
	t.Helper()
	if opts.Config == nil {
		opts.Config = testkit.DemoConfig(t)
	}
	if opts.Store == nil {
		opts.Store = state.NewMemory()
	}
	opts.ProxyListen, opts.IdPListen = cmp.Or(opts.ProxyListen, "127.0.0.1:0"), "127.0.0.1:0"
	s, err := Up(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

// whoBackend is a backend that answers, as JSON, the user and roles the
// proxy's identity headers gave it.
func whoBackend(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"user": r.Header.Get(identity.HeaderUser), "roles": r.Header.Get(identity.HeaderRoles)})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// startProxy runs Proxy(opts, iss), as `authdev proxy` does, on a free
// port with a memory store; it stops when the test ends.
func startProxy(t *testing.T, opts Options, iss *Issuer) *Stack {
	t.Helper()
	opts.Store, opts.ProxyListen = state.NewMemory(), "127.0.0.1:0"
	s, err := Proxy(opts, iss)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

func (s *Stack) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{}
	if s.CA() != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.CA().Pool()}
	}
	return &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}
}

func getJSON(t *testing.T, c *http.Client, url string, hdr http.Header, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode
}

func TestUpServesTheDemoBackendBehindTLSWithAVerifiedAssertion(t *testing.T) {
	t.Parallel()
	s := startUp(t, Options{Persona: "carol"})
	if !strings.HasPrefix(s.ProxyURL(), "https://127.0.0.1:") {
		t.Fatalf("proxy URL %s", s.ProxyURL())
	}
	c := s.client(t)
	// A browser logs in (silently, as carol) and is sent back.
	if code := getJSON(t, c, s.ProxyURL()+"/reports/q3", nil, nil); code != 200 {
		t.Fatalf("browser login: %d", code)
	}
	var rep demoapp.Report
	if code := getJSON(t, c, s.ProxyURL()+"/reports/q3", http.Header{"Accept": {"application/json"}}, &rep); code != 200 {
		t.Fatalf("demo report: %d %+v", code, rep)
	}
	if !rep.Verified || rep.Identity == nil || rep.Identity.Persona != "carol" || rep.Identity.Audience[0] != DemoUpstreamName ||
		rep.IdentityHeaders["X-Remote-Roles"][0] != "viewer" {
		t.Fatalf("the demo backend saw %+v", rep)
	}
	if ups := s.DevProxy().Upstreams(); len(ups) != 1 || ups[0].Name != DemoUpstreamName || !ups[0].Healthy() || s.StateStore() != "memory" {
		t.Errorf("upstreams %+v, state store %q", ups, s.StateStore())
	}
}

func TestSwitchingPersonaAndEnvironmentAndMintingTokens(t *testing.T) {
	t.Parallel()
	s := startUp(t, Options{Env: "staging"})
	events, cancel := s.Subscribe()
	defer cancel()
	if got := s.Environments(); strings.Join(got, ",") != "dev,staging,prod" {
		t.Errorf("environments %v", got)
	}
	if p, env := s.Active(); p != "" || env != "staging" {
		t.Errorf("active %q in %q", p, env)
	}
	if err := s.Activate("bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.Activate("nobody"); err == nil || !strings.Contains(err.Error(), "alice, bob") {
		t.Errorf("unknown persona: %v", err)
	}
	if err := s.SetEnvironment("prod"); err != nil {
		t.Fatal(err)
	}
	if p, env := s.Active(); p != "bob" || env != "prod" {
		t.Errorf("active %q in %q", p, env)
	}
	tok, err := s.Token("eve", "prod")
	if err != nil {
		t.Fatal(err)
	}
	var who struct{ Persona, Via string }
	if code := getJSON(t, s.client(t), s.ProxyURL()+"/.authdev/whoami", http.Header{"Authorization": {"Bearer " + tok}}, &who); code != 200 || who.Persona != "eve" || who.Via != "bearer" {
		t.Fatalf("whoami with the TUI's token: %d %+v", code, who)
	}
	if code := getJSON(t, s.client(t), s.ProxyURL()+"/", http.Header{"Authorization": {"Bearer " + tok}, "Accept": {"application/json"}}, nil); code != 200 {
		t.Fatalf("a request with the TUI's token: %d", code)
	}
	if err := s.RotateKeys("prod"); err != nil {
		t.Fatal(err)
	}
	seen := map[audit.Kind]bool{}
	testkit.WaitFor(t, "a notice and a request event", func() bool {
		for {
			select {
			case e := <-events:
				seen[e.Kind] = true
			default:
				return seen[audit.KindNotice] && seen[audit.KindRequest]
			}
		}
	})
}

func TestAuthdevAsSwitchesThroughTheControlEndpoint(t *testing.T) {
	t.Parallel()
	store := state.NewMemory()
	s := startUp(t, Options{Store: store, Persona: "alice"})
	token, _ := store.Get(ControlTokenKey)
	url, _ := store.Get(ProxyURLKey)
	if string(url) != s.ProxyURL() {
		t.Fatalf("stored proxy URL %q", url)
	}
	ctx := context.Background()
	got, err := Switch(ctx, string(url), string(token), s.CA().Pool(), ActiveState{Persona: "bob", Env: "prod"})
	if err != nil || got != (ActiveState{Persona: "bob", Env: "prod"}) {
		t.Fatalf("switch: %+v %v", got, err)
	}
	if p, env := s.Active(); p != "bob" || env != "prod" {
		t.Fatalf("the stack did not switch: %s %s", p, env)
	}
	for _, tt := range []struct {
		name, token string
		want        ActiveState
		err         string
	}{
		{"a wrong token is refused", "nope", ActiveState{Persona: "carol"}, "control token"},
		{"an unknown persona is refused", string(token), ActiveState{Persona: "mallory"}, "unknown persona"},
		{"an unknown environment is refused", string(token), ActiveState{Persona: "carol", Env: "qa"}, "unknown environment"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Switch(ctx, string(url), tt.token, s.CA().Pool(), tt.want); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
		})
	}
	if p, _ := s.Active(); p != "bob" {
		t.Fatalf("a refused switch changed the persona to %q", p)
	}
	if _, err := Switch(ctx, "https://127.0.0.1:1", string(token), nil, ActiveState{Persona: "bob"}); err == nil || !strings.Contains(err.Error(), "no `authdev up` answers") {
		t.Fatalf("nothing running: %v", err)
	}
}

func TestProxyAloneInFrontOfAnotherIssuer(t *testing.T) {
	t.Parallel()
	up := startUp(t, Options{})
	backend := whoBackend(t)
	cfg := testkit.DemoConfig(t)
	f := false
	cfg.Proxy.TLS = &f
	s := startProxy(t, Options{Config: cfg, Upstream: "api=" + backend},
		&Issuer{URL: up.IdP().Issuer("dev"), ClientID: config.ProxyClientID, ClientSecret: up.IdP().ProxyClientSecret(), Audience: "authdev", Env: "okta-dev"})
	if !strings.HasPrefix(s.ProxyURL(), "http://127.0.0.1:") {
		t.Fatalf("proxy URL %s", s.ProxyURL())
	}
	tok, _ := up.Token("alice", "dev")
	var got map[string]string
	if code := getJSON(t, http.DefaultClient, s.ProxyURL()+"/x", http.Header{"Authorization": {"Bearer " + tok}}, &got); code != 200 || got["user"] != "alice@example.com" {
		t.Fatalf("%d %v", code, got)
	}
	if _, err := s.Token("alice", "dev"); err == nil {
		t.Error("a proxy without the IdP minted a token")
	}
}

func TestProxyAloneNeedsAnUpstream(t *testing.T) {
	t.Parallel()
	_, err := Proxy(Options{Config: testkit.DemoConfig(t), Store: state.NewMemory(), ProxyListen: "127.0.0.1:0"}, nil)
	if err == nil || !strings.Contains(err.Error(), "--upstream") {
		t.Fatalf("err %v", err)
	}
}

func TestSecretsAreCreatedOnceAndAnUnreadableStoreIsAnError(t *testing.T) {
	t.Parallel()
	store := state.NewMemory()
	a, err := LoadSecrets(store, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := LoadSecrets(store, rand.Reader)
	if string(a.CookieSecret) != string(b.CookieSecret) || a.ControlToken != b.ControlToken || !a.AssertionKey.Equal(b.AssertionKey) {
		t.Fatal("secrets changed between two loads")
	}
	store.Set(CookieSecretKey, []byte("short"))
	if _, err := LoadSecrets(store, rand.Reader); err == nil || !strings.Contains(err.Error(), CookieSecretKey) {
		t.Fatalf("short cookie secret: %v", err)
	}
	if _, err := LoadSecrets(lockedStore{store}, rand.Reader); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("locked store: %v", err)
	}
	if v, _ := store.Get(CookieSecretKey); string(v) != "short" {
		t.Fatal("the store was overwritten")
	}
}

type lockedStore struct{ *state.MemoryStore }

func (lockedStore) Get(string) ([]byte, error) { return nil, errors.New("keyring locked") }

func TestParseUpstreamFlag(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, name, target, err string }{
		{"http://127.0.0.1:8000", "app", "http://127.0.0.1:8000", ""},
		{"http://127.0.0.1:8000/", "app", "http://127.0.0.1:8000", ""},
		{"api=http://127.0.0.1:9000", "api", "http://127.0.0.1:9000", ""},
		{"127.0.0.1:8000", "", "", "not an http(s) URL"},
		{"api=ftp://x", "", "", "not an http(s) URL"},
	} {
		u, err := ParseUpstreamFlag(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v", tt.in, err)
			}
			continue
		}
		if err != nil || u.Name != tt.name || u.Targets[0] != tt.target || u.Prefix != "/" {
			t.Errorf("%q: %+v %v", tt.in, u, err)
		}
	}
}
