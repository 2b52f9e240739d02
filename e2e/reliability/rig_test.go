package reliability

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

// TestMain fails the package if any goroutine outlives the tests: every
// proxy, IdP, backend and client a test starts must be gone by then.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const rigYAML = `
idp:
  listen: 127.0.0.1:9400
  flavor: okta
  token_ttl: 10m
personas:
  alice: {name: Alice Admin, email: alice@example.com, groups: [eng-admins]}
  bob: {name: Bob Builder, email: bob@example.com, groups: [eng]}
  carol: {name: Carol Viewer, email: carol@example.com, groups: [analysts]}
environments:
  dev: {alg: ES256, roles: {eng-admins: [admin], eng: [reader], analysts: [viewer]}}
proxy:
  listen: 127.0.0.1:8443
  tls: false
  default_authorization: ALLOW
  policies:
    - name: admin-area
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/admin") && !AAA.USER.IS_MEMBER_OF("admin")
      action: DENY
`

// rig is a mock IdP and a proxy on loopback, in this process.
type rig struct {
	t      *testing.T
	cfg    *config.Config
	idp    *mockidp.Server
	idpURL string
	proxy  *devproxy.Proxy
	url    string
}

// newIdP starts the mock IdP on a fresh loopback port.
func newIdP(t *testing.T, cfg *config.Config) (*mockidp.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	idp, err := mockidp.New(cfg, mockidp.Options{Store: state.NewMemory(), KeyReload: -1, BaseURL: base})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if err := idp.Start(ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	return idp, base
}

// newRig starts an IdP and a proxy in front of upstreams, with alice active.
func newRig(t *testing.T, upstreams []devproxy.Upstream) *rig {
	t.Helper()
	cfg := idptest.Config(t, rigYAML)
	idp, base := newIdP(t, cfg)
	r := &rig{t: t, cfg: cfg, idp: idp, idpURL: base}
	r.proxy, r.url = startProxy(t, cfg, idp.Issuer, idp.ProxyClientSecret(), upstreams, nil)
	return r
}

// startProxy runs a proxy for cfg's environments, their issuers named by
// issuer; tweak may change the options.
func startProxy(t *testing.T, cfg *config.Config, issuer func(string) string, secret string, upstreams []devproxy.Upstream, tweak func(*devproxy.Options)) (*devproxy.Proxy, string) {
	t.Helper()
	eng, err := adc.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := stack.ConfigOptions(cfg, issuer, secret)
	opts.PublicURL = "http://" + ln.Addr().String()
	opts.Persona = "alice"
	opts.Upstreams = upstreams
	opts.Policy = eng
	opts.CookieSecret = make([]byte, devproxy.CookieSecretSize)
	rand.Read(opts.CookieSecret)
	keyPEM, err := devproxy.NewAssertionKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if opts.AssertionKey, err = devproxy.ParseAssertionKey(keyPEM); err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(&opts)
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
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("proxy shutdown: %v", err)
		}
	})
	return p, opts.PublicURL
}

// upstream is a single-target upstream "api" at prefix /.
func upstream(target string, tweak func(*devproxy.Upstream)) []devproxy.Upstream {
	u := devproxy.Upstream{Name: "api", Prefix: "/", Targets: []string{target}}
	if tweak != nil {
		tweak(&u)
	}
	return []devproxy.Upstream{u}
}

// backend is a restartable HTTP server on a fixed loopback port: Kill
// closes the listener and every connection (in-flight requests fail), and
// Restart serves again on the same address.
type backend struct {
	t       *testing.T
	addr    string
	handler http.Handler
	mu      sync.Mutex
	srv     *http.Server
	hits    atomic.Int64
}

func newBackend(t *testing.T, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{t: t}
	b.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		h(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = ln.Addr().String()
	b.serve(ln)
	t.Cleanup(b.Kill)
	return b
}

func (b *backend) URL() string { return "http://" + b.addr }

func (b *backend) serve(ln net.Listener) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.srv = &http.Server{Handler: b.handler}
	go b.srv.Serve(ln)
}

func (b *backend) Kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		b.srv.Close()
		b.srv = nil
	}
}

func (b *backend) Restart() {
	b.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 100; i++ { // the port may linger for a moment
		if ln, err = net.Listen("tcp", b.addr); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		b.t.Fatalf("restarting the backend on %s: %v", b.addr, err)
	}
	b.serve(ln)
}

// okHandler answers 200 with the identity the proxy sent.
func okHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, r.Header.Get("X-Remote-User"))
}

// newBrowser is a client with a cookie jar that follows redirects; its
// connections are closed when the test ends.
func newBrowser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}
}

// newAPIClient does not follow redirects.
func newAPIClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get sends GET url with header pairs and returns status and body.
func get(c *http.Client, url string, header ...string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// mint is an access token for persona in dev from the IdP.
func (r *rig) mint(persona string) string {
	r.t.Helper()
	ts, err := r.idp.Mint(persona, "dev", mockidp.MintOptions{})
	if err != nil {
		r.t.Fatal(err)
	}
	return ts.AccessToken
}

// requests is how many authenticated requests the soak sends:
// $RELIABILITY_REQUESTS, default 200000.
func requests(t *testing.T) int {
	n := 200_000
	if v := os.Getenv("RELIABILITY_REQUESTS"); v != "" {
		var err error
		if n, err = atoiPositive(v); err != nil {
			t.Fatalf("RELIABILITY_REQUESTS=%q: %v: give a positive whole number", v, err)
		}
	}
	return n
}

func atoiPositive(s string) (int, error) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(c-'0')
		if n > 1e9 {
			return 0, errors.New("too large")
		}
	}
	if n == 0 {
		return 0, errors.New("zero")
	}
	return n, nil
}
