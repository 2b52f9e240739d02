package devproxy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Upstream is a backend the proxy routes to by longest path prefix.
type Upstream struct {
	Name    string
	Prefix  string
	Targets []string
	// LB is "roundrobin" or "leastconnection" (the ADC's default).
	LB      string
	Monitor *Monitor
	// API answers 401 instead of a login redirect (the ADC's -authn401 ON).
	API bool
	// Host replaces the Host header sent upstream; "" keeps the client's.
	Host string
	// Timeout is how long the upstream may take to send response headers;
	// past it the client gets a 504. Default 30 s.
	Timeout time.Duration
}

// Monitor is an active HTTP health check of every target.
type Monitor struct {
	Path     string
	Interval time.Duration
	Timeout  time.Duration
	Status   int
	// Retries is how many probes in a row must fail before a target is
	// taken out: 3 by default, as the ADC's monitors (one slow answer does
	// not take a backend down). One good probe brings it back.
	Retries int
}

// TargetStatus is the health of one target, for the TUI and whoami.
type TargetStatus struct {
	URL     string `json:"url"`
	Healthy bool   `json:"healthy"`
	// Checked is false until a probe or a proxied request has reached the
	// target or failed to: until then Healthy is an assumption.
	Checked bool   `json:"checked"`
	Reason  string `json:"reason,omitempty"` // why it is not healthy
	Active  int64  `json:"active"`           // requests in flight
}

// UpstreamStatus is the health of one upstream.
type UpstreamStatus struct {
	Name    string         `json:"name"`
	Prefix  string         `json:"prefix"`
	Targets []TargetStatus `json:"targets"`
}

// Healthy reports whether any target may take requests.
func (s UpstreamStatus) Healthy() bool {
	for _, t := range s.Targets {
		if t.Healthy {
			return true
		}
	}
	return false
}

// target is one server of an upstream.
type target struct {
	url    *url.URL
	str    string    // url.String(), for every request's audit event
	conns  *connPool // bodyless requests to a plain-HTTP target; nil for https
	active atomic.Int64
	// down is set by the active monitor; ejectedUntil (unix ns) by a failed
	// connection (passive ejection).
	down         atomic.Bool
	fails        atomic.Int32 // failed probes in a row
	ejectedUntil atomic.Int64
	checked      atomic.Bool // see TargetStatus.Checked
	mu           sync.Mutex
	reason       string
}

func (t *target) setReason(r string) {
	t.mu.Lock()
	t.reason = r
	t.mu.Unlock()
}

func (t *target) getReason() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reason
}

// upstream is an Upstream at run time: its targets, its transport and the
// reverse proxy that uses them.
type upstream struct {
	Upstream
	targets   []*target
	rr        atomic.Uint64
	transport *http.Transport
	proxy     *httputil.ReverseProxy
	plainHTTP bool // every target is plain HTTP: see direct
	p         *Proxy
	stop      monitorStop
}

// The defaults of an upstream and its monitor: the one place authdev sets
// them (config leaves them unset). The monitor's are the ADC's own for an
// lb monitor (-interval 5, -resptimeout 2, -retries 3).
const (
	defaultUpstreamTimeout = 30 * time.Second
	defaultMonitorPath     = "/healthz"
	defaultMonitorInterval = 5 * time.Second
	defaultMonitorTimeout  = 2 * time.Second
	defaultMonitorStatus   = http.StatusOK
	defaultMonitorRetries  = 3
)

func (m *Monitor) setDefaults() {
	m.Path = cmp.Or(m.Path, defaultMonitorPath)
	m.Status = cmp.Or(m.Status, defaultMonitorStatus)
	if m.Interval <= 0 {
		m.Interval = defaultMonitorInterval
	}
	if m.Timeout <= 0 {
		m.Timeout = defaultMonitorTimeout
	}
	if m.Retries <= 0 {
		m.Retries = defaultMonitorRetries
	}
}

// ejectFor is how long a target that refused a connection is passed over
// while others are available.
const ejectFor = 5 * time.Second

func newUpstream(u Upstream, p *Proxy) (*upstream, error) {
	if u.Name == "" {
		return nil, errors.New("upstream without a name")
	}
	u.Prefix = cmp.Or(u.Prefix, "/")
	if !strings.HasPrefix(u.Prefix, "/") {
		return nil, fmt.Errorf("upstream %q prefix %q must start with /", u.Name, u.Prefix)
	}
	switch u.LB {
	case "":
		u.LB = "leastconnection"
	case "roundrobin", "leastconnection":
	default:
		return nil, fmt.Errorf("upstream %q lb %q: use roundrobin or leastconnection", u.Name, u.LB)
	}
	if u.Timeout <= 0 {
		u.Timeout = defaultUpstreamTimeout
	}
	if len(u.Targets) == 0 {
		return nil, fmt.Errorf("upstream %q has no targets", u.Name)
	}
	up := &upstream{Upstream: u, p: p}
	for _, raw := range u.Targets {
		tu, err := url.Parse(raw)
		if err != nil || (tu.Scheme != "http" && tu.Scheme != "https") || tu.Host == "" {
			return nil, fmt.Errorf("upstream %q target %q is not an absolute http(s) URL: write it like http://127.0.0.1:8000", u.Name, raw)
		}
		tu.Path = strings.TrimSuffix(tu.Path, "/")
		up.targets = append(up.targets, &target{url: tu, str: tu.String()})
	}
	if u.Monitor != nil {
		u.Monitor.setDefaults()
	}
	// DefaultTransport keeps two idle connections per host: under load most
	// requests would open a new one. Compression stays the backend's.
	dial := (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	up.plainHTTP = true
	for _, t := range up.targets {
		if t.url.Scheme == "http" {
			t.conns = newConnPool(hostPort(t.url), u.Timeout, dial)
		} else {
			up.plainHTTP = false
		}
	}
	up.transport = &http.Transport{
		Proxy:                 nil,
		DialContext:           dial,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   maxIdlePerTarget,
		IdleConnTimeout:       idleConnTimeout,
		ResponseHeaderTimeout: u.Timeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
	}
	up.proxy = &httputil.ReverseProxy{
		Rewrite:   up.rewrite,
		Transport: up,
		// 0, not -1: ReverseProxy flushes server-sent events and bodies of
		// unknown length (chunked streams) at every write anyway, and -1
		// would also flush every response with a Content-Length from a
		// timer goroutine, headers apart from the body: two writes, a
		// goroutine and a timer per request.
		FlushInterval: 0,
		BufferPool:    p.buffers,
		ErrorHandler:  up.proxyError,
		ErrorLog:      p.errorLog,
	}
	return up, nil
}

// hostPort is a plain-HTTP target's address: port 80 unless it names one.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// closeIdle closes the idle connections to every target; with final, also
// those still in use once they come back.
func (u *upstream) closeIdle(final bool) {
	u.transport.CloseIdleConnections()
	for _, t := range u.targets {
		if t.conns != nil {
			t.conns.closeIdle(final)
		}
	}
}

// matches reports whether path is under the upstream's prefix: "/api"
// takes /api and /api/x but not /apix.
func (u *upstream) matches(path string) bool {
	if !strings.HasPrefix(path, u.Prefix) {
		return false
	}
	return strings.HasSuffix(u.Prefix, "/") || len(path) == len(u.Prefix) || path[len(u.Prefix)] == '/'
}

func (u *upstream) rewrite(pr *httputil.ProxyRequest) {
	pr.SetXForwarded()
	// The transport picks the target; until then the URL names the upstream.
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = u.Name
	if u.Host != "" {
		pr.Out.Host = u.Host
	}
}

// errNoTarget is a request that found no target willing to take it.
type errNoTarget struct {
	upstream string
	reasons  []string
}

func (e *errNoTarget) Error() string {
	return fmt.Sprintf("upstream %q has no healthy target: %s", e.upstream, strings.Join(e.reasons, "; "))
}

// errTarget is a failure talking to one target.
type errTarget struct {
	target string
	err    error
}

func (e *errTarget) Error() string { return e.target + ": " + e.err.Error() }
func (e *errTarget) Unwrap() error { return e.err }

// pick chooses a target: healthy ones first; when every healthy one has
// been ejected for a refused connection, those too (a restarted backend is
// then used at once); never one the monitor holds down.
func (u *upstream) pick(now time.Time, skip []*target) (*target, error) {
	var best *target
	n := len(u.targets)
	start := int(u.rr.Add(1) - 1)
	for pass := 0; pass < 2 && best == nil; pass++ {
		for i := range n {
			t := u.targets[(start+i)%n]
			if t.down.Load() || contains(skip, t) {
				continue
			}
			if pass == 0 && now.UnixNano() < t.ejectedUntil.Load() {
				continue
			}
			if u.LB == "roundrobin" {
				best = t
				break
			}
			if best == nil || t.active.Load() < best.active.Load() {
				best = t
			}
		}
	}
	if best == nil {
		e := &errNoTarget{upstream: u.Name}
		for _, t := range u.targets {
			e.reasons = append(e.reasons, t.url.String()+": "+cmp.Or(t.getReason(), "failed"))
		}
		return nil, e
	}
	return best, nil
}

func contains(ts []*target, t *target) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// RoundTrip sends the request to a target, moving on to the next one when
// a connection is refused and the request has no body to replay.
func (u *upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	var got1xx func(int, textproto.MIMEHeader) error
	if trace := httptrace.ContextClientTrace(req.Context()); trace != nil {
		got1xx = trace.Got1xxResponse
	}
	st := stateOf(req.Context())
	resp, err := u.roundTrip(req, st, got1xx)
	if st != nil && st.reqBody.timedOut.Load() {
		// The backend answered a body cut short: that answer is not the
		// request's; fail names the client's timeout instead.
		if resp != nil {
			resp.Body.Close()
		}
		return nil, errBodyTimeout
	}
	return resp, err
}

// roundTrip is RoundTrip for the request of st; got1xx, when not nil,
// takes the informational answers before the final one.
func (u *upstream) roundTrip(req *http.Request, st *reqState, got1xx func(int, textproto.MIMEHeader) error) (*http.Response, error) {
	path, rawPath := req.URL.Path, req.URL.RawPath
	var tried []*target
	for {
		t, err := u.pick(u.p.now(), tried)
		if err != nil {
			if len(tried) > 0 {
				return nil, &errTarget{target: tried[len(tried)-1].url.String(), err: errors.New(tried[len(tried)-1].getReason())}
			}
			return nil, err
		}
		tried = append(tried, t)
		req.URL.Scheme, req.URL.Host = t.url.Scheme, t.url.Host
		if t.url.Path != "" {
			req.URL.Path, req.URL.RawPath = t.url.Path+path, ""
			if rawPath != "" {
				req.URL.RawPath = t.url.EscapedPath() + rawPath
			}
		}
		if st != nil {
			st.target = t.str
		}
		t.active.Add(1)
		var resp *http.Response
		if t.conns != nil && pooled(req) {
			resp, err = t.conns.roundTrip(req, got1xx)
		} else {
			resp, err = u.transport.RoundTrip(req)
		}
		if err != nil {
			t.active.Add(-1)
			if isConnectError(err) {
				u.eject(t, err)
				if (req.Body == nil || req.Body == http.NoBody) && len(tried) < len(u.targets) {
					continue
				}
			}
			return nil, &errTarget{target: t.url.String(), err: err}
		}
		t.checked.Store(true)
		if t.ejectedUntil.Load() != 0 && t.ejectedUntil.Swap(0) != 0 && !t.down.Load() {
			t.setReason("")
			u.p.notice("info", fmt.Sprintf("upstream %q target %s answers again", u.Name, t.url))
		}
		resp.Body = trackBody(resp.Body, t, st)
		return resp, nil
	}
}

func (u *upstream) eject(t *target, err error) {
	reason := connectReason(err)
	prev := t.ejectedUntil.Swap(u.p.now().Add(ejectFor).UnixNano())
	t.setReason(reason)
	t.checked.Store(true)
	if prev == 0 {
		u.p.notice("warn", fmt.Sprintf("upstream %q target %s is down: %s", u.Name, t.url, reason))
	}
}

// isConnectError reports whether err happened before the request reached
// the target, so that trying another target is safe.
func isConnectError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func connectReason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Op + " " + op.Addr.String() + ": " + errorsUnwrapAll(op.Err).Error()
	}
	return err.Error()
}

func errorsUnwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// trackBody counts the request as active until its response body is
// closed, which for a stream or a websocket is when it ends. A websocket's
// body must stay an io.ReadWriteCloser for ReverseProxy to splice it.
// Other bodies are wrapped in the request's pooled state when there is
// one: ReverseProxy closes the body before its ServeHTTP returns, and the
// state goes back to the pool only after that.
func trackBody(b io.ReadCloser, t *target, st *reqState) io.ReadCloser {
	if rwc, ok := b.(io.ReadWriteCloser); ok {
		return &trackedRWC{ReadWriteCloser: rwc, t: t}
	}
	if st != nil {
		st.body = trackedBody{ReadCloser: b, t: t}
		return &st.body
	}
	return &trackedBody{ReadCloser: b, t: t}
}

type trackedBody struct {
	io.ReadCloser
	t      *target
	closed atomic.Bool
}

func (b *trackedBody) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.t.active.Add(-1)
	}
	return b.ReadCloser.Close()
}

type trackedRWC struct {
	io.ReadWriteCloser
	t    *target
	once sync.Once
}

func (b *trackedRWC) Close() error {
	b.once.Do(func() { b.t.active.Add(-1) })
	return b.ReadWriteCloser.Close()
}

// monitor probes every target, the first time at once, until ctx ends.
func (u *upstream) monitor(ctx context.Context, wg *sync.WaitGroup) {
	m := u.Monitor
	if m == nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	u.stop.mu.Lock()
	u.stop.cancel = cancel
	u.stop.mu.Unlock()
	client := &http.Client{Transport: u.transport, Timeout: m.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, t := range u.targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(m.Interval)
			defer tick.Stop()
			for {
				u.probe(ctx, client, t)
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
}

func (u *upstream) probe(ctx context.Context, client *http.Client, t *target) {
	m := u.Monitor
	reason := ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url.String()+m.Path, nil)
	if err != nil {
		reason = err.Error()
	} else if resp, err := client.Do(req); err != nil {
		if ctx.Err() != nil {
			return
		}
		reason = fmt.Sprintf("monitor GET %s: %s", m.Path, connectReason(errorsUnwrapAll(err)))
		if ue := (*url.Error)(nil); errors.As(err, &ue) && ue.Timeout() {
			reason = fmt.Sprintf("monitor GET %s: no answer within %s", m.Path, m.Timeout)
		}
	} else {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode != m.Status {
			reason = fmt.Sprintf("monitor GET %s: status %d, want %d", m.Path, resp.StatusCode, m.Status)
		}
	}
	if reason == "" {
		t.fails.Store(0)
		t.ejectedUntil.Store(0)
		t.checked.Store(true)
		if t.down.Swap(false) {
			t.setReason("")
			u.p.notice("info", fmt.Sprintf("upstream %q target %s is up", u.Name, t.url))
		}
		return
	}
	if int(t.fails.Add(1)) < m.Retries && !t.down.Load() {
		if !t.checked.Swap(true) {
			// Retries keep a target that has answered from going down for
			// one slow answer; one that never answered is shown down (and
			// tried last) at once.
			t.setReason(reason)
			t.ejectedUntil.Store(u.p.now().Add(ejectFor).UnixNano())
		}
		return
	}
	t.setReason(reason)
	t.checked.Store(true)
	if !t.down.Swap(true) {
		u.p.notice("warn", fmt.Sprintf("upstream %q target %s is down after %d failed probes: %s", u.Name, t.url, m.Retries, reason))
	}
}

func (u *upstream) status() UpstreamStatus {
	s := UpstreamStatus{Name: u.Name, Prefix: u.Prefix}
	for _, t := range u.targets {
		// A target a refused connection ejected shows down until a request
		// or a probe reaches it again, though it is tried again sooner.
		healthy := !t.down.Load() && t.ejectedUntil.Load() == 0
		ts := TargetStatus{URL: t.url.String(), Healthy: healthy, Checked: t.checked.Load(), Active: t.active.Load()}
		if !healthy {
			ts.Reason = t.getReason()
		}
		s.Targets = append(s.Targets, ts)
	}
	return s
}

// proxyError turns a failure to reach the upstream into the ADC's answer:
// 503 when no target may be used, 504 when the target took too long, 502
// otherwise. A client that went away gets nothing.
func (u *upstream) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	u.fail(w, r, stateOf(r.Context()), err)
}

// fail is proxyError for the request of st.
func (u *upstream) fail(w http.ResponseWriter, r *http.Request, st *reqState, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		if st != nil {
			st.status = 499
			st.message = "client closed the request"
		}
		return
	}
	status, title := http.StatusBadGateway, "Bad gateway"
	var nt *errNoTarget
	switch {
	case errors.Is(err, errBodyTimeout):
		msg := fmt.Sprintf("the request body did not arrive within %s", u.p.reqTimeout)
		st.message = msg
		u.p.errorPage(w, r, http.StatusRequestTimeout, "Request timeout", "The request took too long to send.", msg)
		return
	case errors.As(err, &nt):
		status, title = http.StatusServiceUnavailable, "Service unavailable"
	case isTimeout(err):
		status, title = http.StatusGatewayTimeout, "Gateway timeout"
		err = fmt.Errorf("%w (no response headers within %s)", err, u.Timeout)
	}
	if st != nil {
		st.message = err.Error()
	}
	u.p.errorPage(w, r, status, title, fmt.Sprintf("The upstream %q could not answer.", u.Name), err.Error())
}

func isTimeout(err error) bool {
	var ne net.Error
	return (errors.As(err, &ne) && ne.Timeout()) || strings.Contains(err.Error(), "timeout awaiting response headers")
}
