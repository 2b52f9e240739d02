package devproxy

import (
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/identity"
)

const benchYAML = `
personas:
  alice: {email: alice@example.com, groups: [eng-admins]}
environments:
  dev: {roles: {eng-admins: [admin]}}
proxy:
  policies:
    - name: admin-area
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/admin") && !AAA.USER.IS_MEMBER_OF("admin")
      action: DENY
`

// benchProxy is a proxy with the default three identity headers, one
// policy and a session cookie for alice, in front of backend.
func benchProxy(b *testing.B, backend string) (*Proxy, string) {
	cfg, err := config.Parse([]byte(benchYAML), "bench.yaml", b.TempDir(), config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := adc.Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, CookieSecretSize)
	rand.Read(secret)
	keyPEM, _ := NewAssertionKey(rand.Reader)
	key, _ := ParseAssertionKey(keyPEM)
	opts := Options{Environments: []Environment{{Name: "dev", Issuer: "http://127.0.0.1:1/dev", ClientID: config.ProxyClientID,
		ClientSecret: "s", Audience: cfg.Environments[0].Audience, Roles: cfg.Environments[0].Roles}}}
	for _, h := range cfg.Proxy.Headers {
		opts.OwnedHeaders = append(opts.OwnedHeaders, h.Name)
	}
	opts.PublicURL, opts.Policy, opts.CookieSecret, opts.AssertionKey = "http://127.0.0.1:8443", eng, secret, key
	opts.Upstreams = []Upstream{{Name: "api", Prefix: "/", Targets: []string{backend}}}
	opts.Events = func(audit.Event) {}
	p, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Unix()
	cookie, err := p.sealSession(&session{ID: "sess-1", Env: "dev", Persona: "alice", Created: now, Seen: now,
		Claims: map[string]any{"sub": "00u1", "email": "alice@example.com", "name": "Alice", "groups": []any{"eng-admins"}}})
	if err != nil {
		b.Fatal(err)
	}
	return p, cookie
}

func BenchmarkSessionDecode(b *testing.B) {
	p, cookie := benchProxy(b, "http://127.0.0.1:1")
	env := p.rt().envs["dev"]
	b.ReportAllocs()
	for b.Loop() {
		var s session
		if err := p.sealer.open(SessionCookie, cookie, &s); err != nil {
			b.Fatal(err)
		}
		if _, err := env.newCaller(s.Claims, s.Persona, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSessionLookupCached(b *testing.B) {
	p, cookie := benchProxy(b, "http://127.0.0.1:1")
	act := p.active.Load()
	now := time.Now()
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		if _, why := p.sessionIdentity(w, cookie, act, now); why != sessionOK {
			b.Fatal(why)
		}
	}
}

func benchHeaders() http.Header {
	return http.Header{
		"Accept":          {"text/html,application/xhtml+xml"},
		"Accept-Encoding": {"gzip, deflate, br"},
		"Accept-Language": {"en-GB,en;q=0.9"},
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"},
		"Cookie":          {"theme=dark; NSC_TMAS=abcdefghijklmnopqrstuvwxyz0123456789; lang=en"},
		"Referer":         {"https://127.0.0.1:8443/"},
		"Sec-Fetch-Mode":  {"navigate"},
		"Cache-Control":   {"no-cache"},
	}
}

var benchOps = []adc.HeaderOp{
	{Op: "insert", Name: "X-Remote-User", Value: "alice@example.com"},
	{Op: "insert", Name: "X-Remote-Groups", Value: "eng-admins"},
	{Op: "insert", Name: "X-Remote-Roles", Value: "admin"},
}

// BenchmarkHeaderStripInject is the per-request header work: strip owned
// names (none sent, the common case), drop NSC_TMAS from Cookie, insert
// three identity headers and the assertion. The header map is cloned per
// iteration, as ReverseProxy does per request.
func BenchmarkHeaderStripInject(b *testing.B) {
	p, _ := benchProxy(b, "http://127.0.0.1:1")
	tmpl := benchHeaders()
	b.ReportAllocs()
	for b.Loop() {
		h := tmpl.Clone()
		p.rt().owned.strip(h)
		dropOwnedCookies(h)
		applyHeaderOps(h, benchOps)
		h[identity.Header] = []string{"token"}
	}
}

// BenchmarkHeaderStripSpoofed strips a request that forges four owned
// headers in several spellings.
func BenchmarkHeaderStripSpoofed(b *testing.B) {
	p, _ := benchProxy(b, "http://127.0.0.1:1")
	tmpl := benchHeaders()
	tmpl["X_remote_user"] = []string{"x"}
	tmpl["X-Remote-Groups"] = []string{"x", "y"}
	tmpl["X-AUTHDEV-ASSERTION"] = []string{"x"}
	tmpl["X_Forwarded_For"] = []string{"x"}
	b.ReportAllocs()
	for b.Loop() {
		h := tmpl.Clone()
		if len(p.rt().owned.strip(h)) != 4 {
			b.Fatal("did not strip")
		}
	}
}

func BenchmarkAssertionCacheHit(b *testing.B) {
	p, cookie := benchProxy(b, "http://127.0.0.1:1")
	se, _ := p.sessionIdentity(httptest.NewRecorder(), cookie, p.active.Load(), time.Now())
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.assertions.get(se.id, "api", now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAssertionSign is what every request would cost without the
// cache: one ES256 signature.
func BenchmarkAssertionSign(b *testing.B) {
	p, cookie := benchProxy(b, "http://127.0.0.1:1")
	se, _ := p.sessionIdentity(httptest.NewRecorder(), cookie, p.active.Load(), time.Now())
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.assertions.signer.sign(se.id, "api", now); err != nil {
			b.Fatal(err)
		}
	}
}

func minimalBackend(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkProxyAuthenticated is a whole authenticated request through
// the proxy (session cookie, one policy, three headers, the assertion) to
// a minimal backend on loopback. Compare with BenchmarkBareReverseProxy.
func BenchmarkProxyAuthenticated(b *testing.B) {
	backend := minimalBackend(b)
	p, cookie := benchProxy(b, backend.URL)
	benchAuthenticated(b, p, cookie)
}

// BenchmarkProxyAuthenticatedAuditFile is the same request with the audit
// trail written as `authdev proxy` writes it: one JSON line per request to
// a file (its stderr, under make bench).
func BenchmarkProxyAuthenticatedAuditFile(b *testing.B) {
	backend := minimalBackend(b)
	p, cookie := benchProxy(b, backend.URL)
	f, err := os.Create(filepath.Join(b.TempDir(), "audit.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	log := audit.NewLog(f)
	p.events = func(e audit.Event) { _ = log.Write(e) }
	benchAuthenticated(b, p, cookie)
}

func benchAuthenticated(b *testing.B, p *Proxy, cookie string) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8443/reports/q3", nil)
		req.Header = benchHeaders()
		req.Header["Cookie"] = []string{"theme=dark; " + SessionCookie + "=" + cookie}
		for pb.Next() {
			r := req.Clone(req.Context())
			w := httptest.NewRecorder()
			p.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

// BenchmarkBareReverseProxy is httputil.ReverseProxy with a tuned
// transport and pooled buffers: the baseline the proxy is measured against,
// configured as bench/bareproxy is (the default FlushInterval).
func BenchmarkBareReverseProxy(b *testing.B) {
	backend := minimalBackend(b)
	target, _ := url.Parse(backend.URL)
	rp := &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport:  &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true},
		BufferPool: newBufferPool(),
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8443/reports/q3", nil)
		req.Header = benchHeaders()
		for pb.Next() {
			r := req.Clone(req.Context())
			w := httptest.NewRecorder()
			rp.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}
