package devproxy_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

const testYAML = `
idp:
  listen: 127.0.0.1:9400
  flavor: okta
personas:
  alice: {name: Alice Admin, email: alice@example.com, groups: [eng-admins], claims: {department: platform}}
  bob: {name: Bob Builder, email: bob@example.com, groups: [eng]}
environments:
  dev: {flavor: okta, roles: {eng-admins: [admin], eng: [reader]}}
  prod: {flavor: entra, roles: {eng-admins: [admin], eng: [reader]}}
proxy:
  listen: 127.0.0.1:8443
  tls: false
  default_authorization: ALLOW
  policies:
    - name: admin-area
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/admin") && !AAA.USER.IS_MEMBER_OF("admin")
      action: DENY
`

// clock is the proxy's clock: real time plus an offset a test can move.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// events collects the audit trail.
type events struct {
	mu sync.Mutex
	es []audit.Event
}

func (e *events) add(ev audit.Event) {
	e.mu.Lock()
	e.es = append(e.es, ev)
	e.mu.Unlock()
}

func (e *events) all() []audit.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]audit.Event(nil), e.es...)
}

func (e *events) of(kind audit.Kind) []audit.Event {
	var out []audit.Event
	for _, ev := range e.all() {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// env is a running mock IdP and proxy.
type env struct {
	t   *testing.T
	cfg *config.Config
	idp *mockidp.Server
	// stopIdP takes the IdP off the network, as a crashed one.
	stopIdP func()
	proxy   *devproxy.Proxy
	url     string
	clock   *clock
	events  *events
}

type setup struct {
	// yaml replaces testYAML.
	yaml      string
	persona   string
	upstreams []devproxy.Upstream
	tweak     func(*devproxy.Options)
	listener  net.Listener
}

// start runs the IdP and a proxy in front of upstreams.
func start(t *testing.T, s setup) *env {
	t.Helper()
	yaml := testYAML
	if s.yaml != "" {
		yaml = s.yaml
	}
	cfg := idptest.Config(t, yaml)
	clk := &clock{}
	// One clock for both, so a test can move time for sessions and tokens.
	idp, stopIdP := startIdP(t, cfg, clk.Now)
	e := &env{t: t, cfg: cfg, idp: idp, stopIdP: stopIdP, clock: clk, events: &events{}}
	eng, err := adc.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln := s.listener
	if ln == nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	opts := stack.ConfigOptions(cfg, idp.Issuer, idp.ProxyClientSecret())
	stack.SAMLLogins(&opts, cfg, idp.BaseURL())
	opts.PublicURL = "http://" + ln.Addr().String()
	opts.Persona = s.persona
	opts.Upstreams = s.upstreams
	opts.Policy = eng
	opts.CookieSecret = make([]byte, devproxy.CookieSecretSize)
	rand.Read(opts.CookieSecret)
	keyPEM, _ := devproxy.NewAssertionKey(rand.Reader)
	opts.AssertionKey, _ = devproxy.ParseAssertionKey(keyPEM)
	opts.Events = e.events.add
	opts.Detail = true
	opts.Now = e.clock.Now
	if s.tweak != nil {
		s.tweak(&opts)
	}
	p, err := devproxy.New(opts)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	p.Start(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Shutdown(ctx)
	})
	e.proxy, e.url = p, opts.PublicURL
	return e
}

// startIdP serves the mock IdP's handler from an httptest server on
// loopback (its own Start/Close are exercised by the mockidp tests).
func startIdP(t *testing.T, cfg *config.Config, now func() time.Time) (*mockidp.Server, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	srv.Listener.Close()
	srv.Listener = ln
	idp, err := mockidp.New(cfg, mockidp.Options{Store: state.NewMemory(), Now: now, KeyReload: -1,
		BaseURL: "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	h = idp.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return idp, srv.Close
}

// browser is a client with a cookie jar that follows redirects, as a
// browser does, recording the URLs it visited.
type browser struct {
	*http.Client
	mu      sync.Mutex
	visited []string
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{}
	b.Client = &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			b.mu.Lock()
			b.visited = append(b.visited, r.URL.String())
			b.mu.Unlock()
			if len(via) > 10 {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	return b
}

// noFollow is a client that shows redirects instead of following them.
func noFollow(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// seen is what the echo backend received.
type seen struct {
	Path    string              `json:"path"`
	Query   string              `json:"query"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
	Server  string              `json:"server"`
}

// header returns every value of every header whose name, normalised (case
// and '_'), is name.
func (s seen) header(name string) []string {
	norm := strings.ReplaceAll(strings.ToLower(name), "_", "-")
	var out []string
	for k, vs := range s.Headers {
		if strings.ReplaceAll(strings.ToLower(k), "_", "-") == norm {
			out = append(out, vs...)
		}
	}
	return out
}

// echoBackend answers with what it received, as JSON.
func echoBackend(t *testing.T, name string) *httptest.Server {
	srv := httptest.NewServer(echoHandler(name))
	t.Cleanup(srv.Close)
	return srv
}

func echoHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen{Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host, Headers: r.Header, Server: name})
	})
}

func get(t *testing.T, c *http.Client, url string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		// Assigned raw, so names keep their case and underscores on the wire.
		req.Header[hdr[i]] = append(req.Header[hdr[i]], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readSeen(t *testing.T, resp *http.Response) seen {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", resp.StatusCode, body)
	}
	var s seen
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("not the backend's answer: %v: %s", err, body)
	}
	return s
}

func body(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func upstreamTo(url string) []devproxy.Upstream {
	return []devproxy.Upstream{{Name: "api", Prefix: "/", Targets: []string{url}}}
}
