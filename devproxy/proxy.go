package devproxy

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/internal/state"
)

// Paths the proxy answers itself, as the ADC does.
const (
	CallbackPath   = "/oauth/login"
	LogoutPath     = config.ProxyLogoutPath
	InternalPrefix = "/.authdev/"
)

// Policy decides each request: responder, authorization and rewrite. The
// ADC expression engine (*adc.Engine) implements it.
type Policy interface {
	Evaluate(req *adc.Request, res *adc.Result)
	// NeedsBody is how many bytes of the request body policies read; 0
	// when none looks at it.
	NeedsBody() int
	// OwnedHeaders are the headers the policies insert, which the proxy
	// strips from clients.
	OwnedHeaders() []string
}

// Options configure a Proxy.
type Options struct {
	// PublicURL is where browsers reach the proxy: the assertion's issuer,
	// the base of the OIDC callback. Its scheme decides the cookies' Secure.
	PublicURL string
	// AssertionIssuer replaces PublicURL as the assertion's issuer: the
	// proxy of `authdev test` on a spare port signs as the proxy the
	// backends know.
	AssertionIssuer string
	// TLSCertificate, when set, makes Start serve HTTPS (with HTTP/2).
	TLSCertificate *tls.Certificate
	// Environments are the issuers; Env (default the first) is active.
	Environments []Environment
	Env          string
	// Persona, when set, makes browser logins silent logins of it.
	Persona   string
	Upstreams []Upstream
	// Policy decides requests; nil allows everything and inserts the
	// default identity headers (X-Remote-User, -Groups, -Roles).
	Policy Policy
	// OwnedHeaders are stripped from clients besides the policy's and the
	// built-in ones (identity defaults, X-Forwarded-*, the assertion).
	OwnedHeaders []string
	// RequestTimeout bounds the time a client takes to send a request body,
	// as the ADC's HTTP profile -reqTimeout does; 30 s by default.
	RequestTimeout time.Duration
	// SessionTimeout and IdleTimeout end browser sessions; 30 min each by
	// default, as the ADC's sessTimeout.
	SessionTimeout time.Duration
	IdleTimeout    time.Duration
	// CookieSecret encrypts and authenticates cookies: CookieSecretSize
	// bytes, kept in the state store so sessions survive restarts.
	CookieSecret []byte
	// AssertionKey signs X-Authdev-Assertion (ES256).
	AssertionKey *ecdsa.PrivateKey
	// PersonaOf names the persona whose email in env is user, or whose id
	// is user where tokens carry a user name instead ("" when none), so
	// tokens and sessions are shown as personas.
	PersonaOf func(env, user string) string
	// Events receives the audit trail; it must not block.
	Events func(audit.Event)
	// Detail adds claims, headers, assertion claims and the policy trace
	// to request events (the TUI shows them; the log drops them).
	Detail bool
	// Control is served, unauthenticated by the proxy, under
	// /.authdev/control/; it authenticates its callers itself.
	Control http.Handler
	// Now and Rand default to the clock and crypto/rand. Rand must be safe
	// for concurrent use.
	Now  func() time.Time
	Rand io.Reader
	// IdPClient makes discovery, token and JWKS requests.
	IdPClient *http.Client
	// State keeps the sessions ended by logout across restarts (under
	// RevokedSessionsKey); nil keeps them in memory only.
	State state.Store
}

// Proxy is the ADC emulation. Build it with New; it is an http.Handler.
type Proxy struct {
	publicURL  string
	publicHost string // the public URL's host[:port], as a Host header names it
	secure     bool
	tlsCert    *tls.Certificate
	routing    atomic.Pointer[routing] // what Reload replaces
	reloadMu   sync.Mutex              // one Start or Reload at a time
	sessionTTL time.Duration
	reqTimeout time.Duration
	idleTTL    time.Duration
	refresh    time.Duration
	sealer     *sealer
	assertions *assertionCache
	sessions   *cache[string, *sessionEntry]
	bearers    *cache[string, *caller]
	revoked    *cache[string, struct{}]
	saml       *samlState
	store      state.Store
	revokeMu   sync.Mutex // one read-modify-write of the stored revocations at a time
	events     func(audit.Event)
	detail     bool
	control    http.Handler
	now        func() time.Time
	rand       io.Reader
	idpClient  *http.Client
	buffers    *bufferPool
	errorLog   *log.Logger
	active     atomic.Pointer[Active]
	results    sync.Pool
	states     sync.Pool

	srv        *http.Server
	stop       context.CancelFunc
	monitorCtx context.Context // set by Start; Reload starts new monitors under it
	monitors   sync.WaitGroup

	// expired and expiredBefore are the sessions ExpireSessions ended: by
	// ID, and all those created before a second.
	expired       *cache[string, struct{}]
	expiredBefore atomic.Int64
}

// Active is the environment whose issuer logs users in, and the persona
// that browser logins become ("" shows the IdP's picker).
type Active struct {
	Persona string
	Env     string
}

// New checks opts and returns a proxy; it contacts no IdP (discovery
// happens at the first login or bearer token).
func New(opts Options) (*Proxy, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.IdPClient == nil {
		opts.IdPClient = idpHTTPClient()
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = 30 * time.Minute
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 30 * time.Minute
	}
	pub, err := url.Parse(opts.PublicURL)
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" {
		return nil, fmt.Errorf("proxy public URL %q is not an absolute http(s) URL", opts.PublicURL)
	}
	p := &Proxy{
		publicURL:  strings.TrimSuffix(pub.String(), "/"),
		publicHost: pub.Host,
		secure:     pub.Scheme == "https",
		tlsCert:    opts.TLSCertificate,
		sessionTTL: opts.SessionTimeout,
		reqTimeout: opts.RequestTimeout,
		idleTTL:    opts.IdleTimeout,
		refresh:    min(opts.IdleTimeout/10, time.Minute),
		sessions:   newCache[string, *sessionEntry](10000),
		bearers:    newCache[string, *caller](10000),
		revoked:    newCache[string, struct{}](100000),
		expired:    newCache[string, struct{}](10000),
		saml:       newSAMLState(),
		store:      opts.State,
		events:     opts.Events,
		detail:     opts.Detail,
		control:    opts.Control,
		now:        opts.Now,
		rand:       opts.Rand,
		idpClient:  opts.IdPClient,
		buffers:    newBufferPool(),
	}
	p.errorLog = log.New(noticeWriter{p}, "", 0)
	if err := p.loadRevocations(); err != nil {
		return nil, err
	}
	g, err := p.buildRouting(opts, nil)
	if err != nil {
		return nil, err
	}
	p.routing.Store(g)
	act := Active{Persona: opts.Persona, Env: opts.Env}
	if act.Env == "" {
		act.Env = g.envOrder[0]
	}
	if g.envs[act.Env] == nil {
		return nil, fmt.Errorf("unknown environment %q: use one of %s", act.Env, strings.Join(g.envOrder, ", "))
	}
	p.active.Store(&act)
	if p.sealer, err = newSealer(opts.CookieSecret, opts.Rand); err != nil {
		return nil, err
	}
	signer, err := newAssertionSigner(opts.AssertionKey, cmp.Or(opts.AssertionIssuer, p.publicURL), opts.Rand)
	if err != nil {
		return nil, err
	}
	p.assertions = &assertionCache{signer: signer, c: newCache[assertionKey, *signedAssertion](20000)}
	p.results.New = func() any { return &adc.Result{} }
	p.states.New = func() any { return &reqState{} }
	return p, nil
}

// URL is the proxy's public URL.
func (p *Proxy) URL() string { return p.publicURL }

// Active returns the active persona and environment.
func (p *Proxy) Active() Active { return *p.active.Load() }

// SetActive switches the active persona and environment. Browser sessions
// of another persona or environment log in again, silently, at their next
// request.
func (p *Proxy) SetActive(a Active) error {
	if a.Env == "" {
		a.Env = p.active.Load().Env
	}
	if g := p.rt(); g.envs[a.Env] == nil {
		return fmt.Errorf("unknown environment %q: use one of %s", a.Env, strings.Join(g.envOrder, ", "))
	}
	old := p.active.Swap(&a)
	if *old != a {
		p.emit(audit.Event{Kind: audit.KindNotice, Level: "info", Persona: a.Persona, Env: a.Env,
			Message: fmt.Sprintf("active persona %s in %s", cmp.Or(a.Persona, "(picker)"), a.Env)})
	}
	return nil
}

// Environments lists the environment names in order.
func (p *Proxy) Environments() []string { return slices.Clone(p.rt().envOrder) }

// Upstreams reports the health of every upstream, in configuration order
// of prefixes (longest first).
func (p *Proxy) Upstreams() []UpstreamStatus {
	ups := p.rt().upstreams
	out := make([]UpstreamStatus, 0, len(ups))
	for _, u := range ups {
		out = append(out, u.status())
	}
	return out
}

// JWKS is the JSON Web Key Set that verifies the proxy's assertions.
func (p *Proxy) JWKS() []byte { return slices.Clone(p.assertions.signer.jwks) }

// Start serves on ln (HTTPS with HTTP/2 when a certificate was given) and
// starts the upstream monitors. It returns at once.
func (p *Proxy) Start(ln net.Listener) {
	ctx, cancel := context.WithCancel(context.Background())
	p.reloadMu.Lock()
	p.stop, p.monitorCtx = cancel, ctx
	for _, u := range p.rt().upstreams {
		u.monitor(ctx, &p.monitors)
	}
	p.reloadMu.Unlock()
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          p.errorLog,
	}
	if p.tlsCert != nil {
		p.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*p.tlsCert}, MinVersion: tls.VersionTLS12}
		go p.srv.ServeTLS(ln, "", "")
		return
	}
	go p.srv.Serve(ln)
}

// Shutdown stops accepting requests, waits for those in flight until ctx
// ends, and stops the monitors.
func (p *Proxy) Shutdown(ctx context.Context) error {
	var err error
	if p.srv != nil {
		err = p.srv.Shutdown(ctx)
	}
	p.reloadMu.Lock()
	if p.stop != nil {
		p.stop()
	}
	p.reloadMu.Unlock()
	p.monitors.Wait()
	for _, u := range p.rt().upstreams {
		u.closeIdle(true)
	}
	return err
}

// reqState is what one proxied request learned, for the audit event. It
// travels in the request context to the transport and error handler.
type reqState struct {
	start     time.Time
	id        *caller
	upstream  string
	target    string
	status    int
	message   string
	decision  audit.Decision
	policy    string
	trace     []audit.PolicyResult
	messages  []audit.PolicyMessage
	stripped  []string
	injected  map[string]string
	assertion *signedAssertion

	// Per-request objects that live exactly as long as the request, kept
	// here so that a pooled reqState saves their allocations.
	sw      statusWriter
	areq    adc.Request
	body    trackedBody
	reqBody deadlineBody
}

type stateKey struct{}

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// ServeHTTP answers the proxy's own paths and proxies everything else.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch rp := r.URL.Path; {
	case strings.HasPrefix(rp, InternalPrefix):
		p.serveInternal(w, r)
	case rp == CallbackPath:
		p.callback(w, r)
	case rp == SAMLACSPath:
		p.samlACS(w, r)
	case strings.HasPrefix(rp, SAMLSPMetadataPath):
		p.samlSPMetadata(w, r)
	case rp == LogoutPath:
		p.logout(w, r)
	default:
		p.serveProxied(w, r)
	}
}

// defaultHeaders are the default identity headers, for a proxy built
// without a policy engine.
func defaultHeaders(h http.Header, id *caller) {
	h[identity.HeaderUser] = []string{cleanHeaderValue(id.user)}
	h[identity.HeaderGroups] = []string{cleanHeaderValue(strings.Join(id.groups, ","))}
	h[identity.HeaderRoles] = []string{cleanHeaderValue(strings.Join(id.roles, ","))}
}

// named finds the upstream called name; nil for "" or none.
func (g *routing) named(name string) *upstream {
	for _, u := range g.upstreams {
		if name != "" && u.Name == name {
			return u
		}
	}
	return nil
}

// route finds the upstream with the longest prefix that covers path.
func (g *routing) route(path string) *upstream {
	for _, u := range g.upstreams {
		if u.matches(path) {
			return u
		}
	}
	return nil
}

// rewriteURL applies a rewrite policy's new path and query; the upstream
// stays the one the original path chose, as on the ADC, where content
// switching happens before rewrite.
func rewriteURL(r *http.Request, pathQuery string) {
	u, err := url.ParseRequestURI(pathQuery)
	if err != nil {
		return
	}
	r.URL.Path, r.URL.RawPath, r.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
}

// RequestIDHeader is the client's name for a request, which its audit
// event carries. The proxy forwards it as it came.
const RequestIDHeader = "X-Request-Id"

// requestID is the X-Request-Id of the request, when it is a sensible one.
func requestID(h http.Header) string {
	v := h[RequestIDHeader]
	if len(v) != 1 || len(v[0]) > 128 {
		return ""
	}
	return v[0]
}

// remoteIP is the address of a RemoteAddr ("ip:port") as the audit trail
// shows it, or RemoteAddr itself when it is not one. An IPv4 address is
// the text before the port as it stands (netip accepts only the canonical
// dotted quad), which saves formatting it again at every request.
func remoteIP(remote string) string {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return remote
	}
	if a := ap.Addr(); a.Is4() {
		return remote[:strings.LastIndexByte(remote, ':')]
	}
	return ap.Addr().Unmap().String()
}

func clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// peekBody reads up to n bytes of the body for policies and puts them back
// in front of the rest for the upstream.
func peekBody(r *http.Request, n int) []byte {
	buf := make([]byte, n)
	k, _ := io.ReadFull(r.Body, buf)
	buf = buf[:k]
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
	return buf
}

// respond sends a responder action's answer.
func (p *Proxy) respond(w http.ResponseWriter, r *http.Request, resp *adc.Response) {
	if resp.Drop || resp.Reset {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			// HTTP/2 streams cannot be hijacked: abort the stream instead.
			panic(http.ErrAbortHandler)
		}
		if tc, ok := conn.(*net.TCPConn); ok && resp.Reset {
			tc.SetLinger(0)
		}
		conn.Close()
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = slices.Clone(v)
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	io.WriteString(w, resp.Body)
}

// statusWriter remembers the status sent. Unwrap lets ReverseProxy flush
// and hijack (websockets) through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	// An informational answer (103 Early Hints) comes before the final
	// one; 101 is the last an upgrade sends, unless an error follows it.
	if w.status < 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bufferPool lends ReverseProxy and forward their copy buffers instead of
// allocating 32 KiB per request. The pool holds a pointer to each buffer's
// first byte: a pointer goes into an interface without an allocation,
// where a slice (or a new *[]byte at every Put) would cost one per request.
type bufferPool struct{ p sync.Pool }

const bufferSize = 32 << 10

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return unsafe.SliceData(make([]byte, bufferSize)) }}}
}

func (b *bufferPool) Get() []byte { return unsafe.Slice(b.p.Get().(*byte), bufferSize) }

func (b *bufferPool) Put(x []byte) {
	if cap(x) >= bufferSize {
		b.p.Put(unsafe.SliceData(x))
	}
}

func (p *Proxy) emit(e audit.Event) {
	if p.events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = p.now()
	}
	p.events(e)
}

func (p *Proxy) notice(level, msg string) {
	p.emit(audit.Event{Kind: audit.KindNotice, Level: level, Message: msg})
}

// noticeWriter turns the http.Server's and ReverseProxy's log lines (TLS
// handshake failures, mostly) into notices.
type noticeWriter struct{ p *Proxy }

func (n noticeWriter) Write(b []byte) (int, error) {
	msg := strings.TrimSpace(string(b))
	if strings.Contains(msg, "TLS handshake error") && strings.Contains(msg, "certificate") {
		msg += " (does the client trust authdev's CA? run `authdev ca trust`)"
	}
	n.p.notice("warn", msg)
	return len(b), nil
}

func (p *Proxy) requestEvent(r *http.Request, st *reqState, status int) {
	if p.events == nil {
		return
	}
	if st.status != 0 {
		status = st.status
	}
	e := audit.Event{
		Time: st.start, Kind: audit.KindRequest, Method: r.Method, Path: r.URL.Path,
		Upstream: st.upstream, Target: st.target, Status: status, Latency: p.now().Sub(st.start),
		Decision: st.decision, Policy: st.policy, Message: st.message, ClientIP: remoteIP(r.RemoteAddr),
		RequestID: requestID(r.Header), HeadersStripped: st.stripped, HeadersInjected: st.injected, Trace: st.trace, Messages: st.messages,
	}
	if id := st.id; id != nil {
		e.Persona, e.User, e.Env, e.Via = id.persona, id.user, id.env, id.via
		if p.detail {
			e.Claims = id.claims
			if st.assertion != nil {
				e.Assertion = assertionMap(&st.assertion.claims)
			}
		}
	}
	p.events(e)
}
