package rbactest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/oidcgrant"
)

// Target is the proxy the checks go through.
type Target interface {
	// URL is the proxy's base URL.
	URL() string
	// Transport reaches the proxy and the IdP (it trusts the proxy's CA).
	Transport() http.RoundTripper
	// Use makes env the proxy's active environment, with no active persona
	// (so that the IdP shows its picker). Checks of env run after it.
	Use(ctx context.Context, env string) error
	// Issuer is env's issuer, for bearer tokens.
	Issuer(env string) string
}

// PolicySource is a Target that also knows which policy decided a request
// it proxied, from the audit event carrying the request's X-Request-Id. An
// allowed request shows no policy to the client; a denied one names it on
// the proxy's page.
type PolicySource interface {
	// DecidingPolicy is the policy that decided the request with ID ("" for
	// the default action), and false when no such request was seen.
	DecidingPolicy(ctx context.Context, id string) (string, bool)
}

// Options tune Run.
type Options struct {
	// Parallel is how many checks run at once; default 16.
	Parallel int
	// Now is the clock for durations; default time.Now.
	Now func() time.Time
}

// Outcome kinds.
const (
	OutcomeAllow = "allow" // the upstream answered 2xx or 3xx
	OutcomeDeny  = "deny"  // 401 or 403, from the proxy or the backend
	OutcomeError = "error" // the check could not run
	OutcomeLogin = "login" // the IdP asked who logs in (drills that follow redirects)
)

// Result is one case's outcome.
type Result struct {
	Index   int    `json:"index"`
	Name    string `json:"check"`
	Persona string `json:"as"`
	Request string `json:"request"`
	Via     string `json:"via"`
	Env     string `json:"env"`
	Expect  string `json:"expect"`
	Status  int    `json:"status,omitempty"`
	Outcome string `json:"outcome"` // allow | deny | error | the status code
	By      string `json:"decided_by,omitempty"`
	Policy  string `json:"policy,omitempty"`
	Pass    bool   `json:"pass"`
	Reason  string `json:"reason,omitempty"`
	// Answer is the first line of the backend's body when the outcome is
	// not the expected one: why the backend refused or failed (FastAPI's
	// detail).
	Answer   string        `json:"answer,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	Pos      config.Pos    `json:"-"`
}

// Run runs cases through t: environments in the order they first appear,
// the cases of each in parallel. It returns every result, in the order of
// cases; a case that could not run has Outcome "error".
func Run(ctx context.Context, t Target, cases []Case, opts Options) []Result {
	if opts.Parallel <= 0 {
		opts.Parallel = 16
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &runner{t: t, now: opts.Now, sessions: map[key]*lazy[*http.Client]{}, tokens: map[key]*lazy[string]{},
		endpoints: map[string]*lazy[oauth2.Endpoint]{}}
	results := make([]Result, len(cases))
	var order []string
	byEnv := map[string][]int{}
	for i, c := range cases {
		if _, ok := byEnv[c.Env]; !ok {
			order = append(order, c.Env)
		}
		byEnv[c.Env] = append(byEnv[c.Env], i)
	}
	for _, env := range order {
		idx := byEnv[env]
		if err := t.Use(ctx, env); err != nil {
			for _, i := range idx {
				results[i] = r.failed(cases[i], fmt.Errorf("switching the proxy to %q: %w", env, err), 0)
			}
			continue
		}
		// Drills act on the whole stack: their checks run alone, last.
		idx, drilled := splitDrills(cases, idx)
		work := make(chan int)
		var wg sync.WaitGroup
		for range min(opts.Parallel, len(idx)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					results[i] = r.run(ctx, cases[i])
				}
			}()
		}
		for _, i := range idx {
			work <- i
		}
		close(work)
		wg.Wait()
		for _, i := range drilled {
			results[i] = r.runDrill(ctx, cases[i])
		}
	}
	return results
}

type key struct{ persona, env, via string }

// lazy is a value made once, by the first caller; the others wait for it.
type lazy[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (l *lazy[T]) get(make func() (T, error)) (T, error) {
	l.once.Do(func() { l.v, l.err = make() })
	return l.v, l.err
}

type runner struct {
	t         Target
	now       func() time.Time
	mu        sync.Mutex
	sessions  map[key]*lazy[*http.Client]
	tokens    map[key]*lazy[string]
	endpoints map[string]*lazy[oauth2.Endpoint]
}

func lazyOf[K comparable, T any](mu *sync.Mutex, m map[K]*lazy[T], k K) *lazy[T] {
	mu.Lock()
	defer mu.Unlock()
	l, ok := m[k]
	if !ok {
		l = &lazy[T]{}
		m[k] = l
	}
	return l
}

func (r *runner) base(c Case) Result {
	return Result{Index: c.Index, Name: c.Check.Name, Persona: c.Persona, Request: c.Check.Request, Via: c.Via,
		Env: c.Env, Expect: c.Expect, Pos: c.Check.Pos}
}

func (r *runner) failed(c Case, err error, d time.Duration) Result {
	res := r.base(c)
	res.Outcome, res.Reason, res.Duration = OutcomeError, err.Error(), d
	return res
}

// browserAccept is what a browser sends: the proxy redirects it to log in
// rather than answering 401, and shows it the HTML pages.
const browserAccept = "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"

func (r *runner) run(ctx context.Context, c Case) Result {
	start := r.now()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client, bearer, err := r.credentials(ctx, c)
	if err != nil {
		return r.failed(c, err, r.now().Sub(start))
	}
	return r.send(ctx, c, client, bearer, start)
}

// credentials are the case's session (a client with its cookies) or
// bearer token, made once per persona and environment.
func (r *runner) credentials(ctx context.Context, c Case) (*http.Client, string, error) {
	if c.Via == "bearer" {
		bearer, err := lazyOf(&r.mu, r.tokens, key{c.Persona, c.Env, c.Via}).get(func() (string, error) { return r.token(ctx, c) })
		return &http.Client{Transport: r.t.Transport(), CheckRedirect: noRedirects}, bearer, err
	}
	client, err := lazyOf(&r.mu, r.sessions, key{c.Persona, c.Env, c.Via}).get(func() (*http.Client, error) { return r.login(ctx, c) })
	return client, "", err
}

// send makes the case's request with client (and bearer) and judges the
// answer.
func (r *runner) send(ctx context.Context, c Case, client *http.Client, bearer string, start time.Time) Result {
	var body io.Reader
	if c.Check.Body != "" {
		body = strings.NewReader(c.Check.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, r.t.URL()+c.Path, body)
	if err != nil {
		return r.failed(c, err, r.now().Sub(start))
	}
	req.Header.Set("Accept", browserAccept)
	for k, v := range c.Check.Headers {
		req.Header.Set(k, v)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	// The request's ID finds its audit event, unless the check sends its
	// own.
	policies, _ := r.t.(PolicySource)
	requestID := fmt.Sprintf("%s%s-%d", testRequestIDPrefix, c.Env, c.Index)
	if policies != nil && req.Header.Get(devproxy.RequestIDHeader) == "" {
		req.Header.Set(devproxy.RequestIDHeader, requestID)
	} else {
		policies = nil
	}
	resp, err := client.Do(req)
	if err != nil {
		return r.failed(c, fmt.Errorf("%s %s: %w", c.Method, c.Path, err), r.now().Sub(start))
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	resp.Body.Close()
	res := r.base(c)
	res.Duration = r.now().Sub(start)
	classify(&res, resp, page)
	if res.By == "backend" {
		res.Answer = firstLine(page)
	}
	if policies != nil && res.Outcome == OutcomeAllow {
		if p, ok := policies.DecidingPolicy(ctx, requestID); ok {
			if p == "" {
				p = DefaultPolicy
			}
			res.Policy = p
		}
	}
	judge(&res)
	return res
}

// isAuthorizeURL reports whether loc is an IdP's authorization endpoint:
// .../authorize for most flavors, .../openid-connect/auth for Keycloak.
func isAuthorizeURL(loc string) bool {
	return strings.Contains(loc, "/authorize") || strings.Contains(loc, "/protocol/openid-connect/auth?")
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// classify reads who decided and how from the answer.
func classify(res *Result, resp *http.Response, page []byte) {
	res.Status = resp.StatusCode
	fromProxy := isProxyPage(resp, page)
	switch {
	case resp.StatusCode == http.StatusOK && resp.Request != nil && resp.Request.Response != nil &&
		strings.HasSuffix(resp.Request.URL.Path, "/authorize"):
		// A client that follows redirects (a drill's) was redirected to
		// the IdP's persona picker: the login was not silent.
		res.Outcome, res.By = OutcomeLogin, "idp"
		res.Reason = "the IdP asked who logs in: the session was not re-established silently"
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		res.Outcome = OutcomeDeny
		res.By = "backend"
		if fromProxy {
			res.By = "proxy"
			res.Policy = denyingPolicy(page)
		}
	case resp.StatusCode >= 300 && resp.StatusCode < 400 && isAuthorizeURL(resp.Header.Get("Location")):
		// A redirect to the IdP is the proxy asking for a login: the
		// session did not hold.
		res.Outcome = strconv.Itoa(resp.StatusCode)
		res.By = "proxy"
		res.Reason = "the proxy asked for a login again (the session did not hold)"
	case resp.StatusCode >= 200 && resp.StatusCode < 400 && !fromProxy:
		res.Outcome = OutcomeAllow
		res.By = "backend"
	default:
		res.Outcome = strconv.Itoa(resp.StatusCode)
		res.By = "backend"
		if fromProxy {
			res.By = "proxy"
			res.Reason = proxyDetail(page)
			if resp.StatusCode >= 502 && resp.StatusCode <= 504 {
				// The proxy could not reach the backend (or the IdP): the
				// check did not run, which is not an outcome to record.
				res.Outcome = OutcomeError
			}
		}
	}
}

// judge compares the outcome with the expectation.
func judge(res *Result) {
	switch res.Expect {
	case OutcomeAllow, OutcomeDeny:
		res.Pass = res.Outcome == res.Expect
	default:
		res.Pass = res.Status != 0 && strconv.Itoa(res.Status) == res.Expect
		if res.Pass && res.Outcome == OutcomeError {
			res.Outcome = res.Expect
		}
	}
	if res.Pass {
		res.Reason, res.Answer = "", ""
		return
	}
	if res.Outcome == OutcomeError {
		why := "expected " + res.Expect + ", but the check could not run"
		if res.Status != 0 {
			why += fmt.Sprintf(" (%d from the %s)", res.Status, res.By)
		}
		res.Reason = why + ": " + res.Reason
		return
	}
	got := res.Outcome
	if res.Outcome != strconv.Itoa(res.Status) {
		got = fmt.Sprintf("%s (%d)", res.Outcome, res.Status)
	}
	why := fmt.Sprintf("expected %s, got %s", res.Expect, got)
	switch {
	case res.Policy == DefaultPolicy && res.Outcome == OutcomeAllow:
		why += " from the " + res.By + ", let through by the proxy's default authorization action"
	case res.Policy != "" && res.Outcome == OutcomeAllow:
		why += " from the " + res.By + ", let through by policy " + strconv.Quote(res.Policy)
	case res.Policy != "":
		why += " from the proxy: denied by policy " + strconv.Quote(res.Policy)
	case res.By != "":
		why += " from the " + res.By
	}
	if res.Reason != "" {
		why += ": " + res.Reason
	}
	if res.Answer != "" {
		why += ": " + res.Answer
	}
	res.Reason = why
}

// answerLen bounds the backend's answer quoted in a report.
const answerLen = 200

// firstLine is what a backend's body says first: the message of a JSON
// error (FastAPI's detail, an OAuth-style error_description or error,
// a message), or else its first non-blank line.
func firstLine(page []byte) string {
	var j map[string]any
	line := ""
	if json.Unmarshal(page, &j) == nil {
		for _, k := range []string{"detail", "error_description", "error", "message"} {
			if s, ok := j[k].(string); ok && s != "" {
				line = s
				break
			}
		}
	}
	if line == "" {
		for l := range strings.Lines(string(page)) {
			if l = strings.TrimSpace(l); l != "" {
				line = l
				break
			}
		}
	}
	if r := []rune(line); len(r) > answerLen {
		line = string(r[:answerLen]) + "…"
	}
	return line
}

// The proxy's own pages end with this footer (HTML) or are this JSON.
const proxyFooter = "authdev ADC-emulating proxy"

var (
	policyRE    = regexp.MustCompile(`denied by policy "([^"]+)"`)
	preRE       = regexp.MustCompile(`(?s)<pre>(.*?)</pre>`)
	defaultDeny = "denied by the default authorization action"
)

// DefaultPolicy names a decision of proxy.default_authorization.
const DefaultPolicy = "(default)"

func isProxyPage(resp *http.Response, page []byte) bool {
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var j struct {
			Status int    `json:"status"`
			Error  string `json:"error"`
			Detail *string
		}
		return json.Unmarshal(page, &j) == nil && j.Status == resp.StatusCode && j.Error != "" && j.Detail != nil
	}
	return strings.Contains(string(page), proxyFooter)
}

func proxyDetail(page []byte) string {
	var j struct{ Detail string }
	if json.Unmarshal(page, &j) == nil && j.Detail != "" {
		return j.Detail
	}
	if m := preRE.FindSubmatch(page); m != nil {
		return html.UnescapeString(string(m[1]))
	}
	return ""
}

func denyingPolicy(page []byte) string {
	d := proxyDetail(page)
	if m := policyRE.FindStringSubmatch(d); m != nil {
		return m[1]
	}
	if strings.Contains(d, defaultDeny) {
		return DefaultPolicy
	}
	return ""
}

// login logs persona in as a browser does: the proxy's login URL, the
// redirect to the IdP, the persona picker's form, the callback (or the
// IdP's SAML form posted to the proxy's ACS, as a browser without
// JavaScript posts it), and the proxy's whoami to confirm who the session
// is. Checks with via: saml log in with SAML whatever the proxy's login.
func (r *runner) login(ctx context.Context, c Case) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Transport: r.t.Transport(), Jar: jar, CheckRedirect: noRedirects}
	whoami := "/.authdev/whoami"
	start := "/.authdev/login?return=" + url.QueryEscape(whoami)
	if c.Via == config.LoginSAML {
		start += "&via=" + config.LoginSAML
	}
	next, _ := url.Parse(r.t.URL() + start)
	method, form := http.MethodGet, ""
	picked := false
	for hop := 0; hop < 12; hop++ {
		var body io.Reader
		if form != "" {
			body = strings.NewReader(form)
		}
		req, err := http.NewRequestWithContext(ctx, method, next.String(), body)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", browserAccept)
		if form != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("logging %s in at %s: %w", c.Persona, next.Redacted(), err)
		}
		page, _ := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := next.Parse(resp.Header.Get("Location"))
			if err != nil {
				return nil, fmt.Errorf("logging %s in: unreadable redirect %q", c.Persona, resp.Header.Get("Location"))
			}
			next, method, form = loc, http.MethodGet, ""
		case resp.StatusCode == http.StatusOK && samlFormRE.Match(page):
			action, fields := samlPostForm(page)
			if next, err = next.Parse(action); err != nil {
				return nil, fmt.Errorf("logging %s in: unreadable SAML form action %q", c.Persona, action)
			}
			method, form = http.MethodPost, fields.Encode()
		case resp.StatusCode == http.StatusOK && bytes.Contains(page, []byte(`name="persona"`)) && !picked:
			// The IdP's persona picker: a plain form posted to the same URL.
			picked = true
			method, form = http.MethodPost, url.Values{"persona": {c.Persona}}.Encode()
		case resp.StatusCode == http.StatusOK && next.Path == whoami:
			var who struct{ Persona, Env string }
			if err := json.Unmarshal(page, &who); err != nil {
				return nil, fmt.Errorf("logging %s in: the proxy's whoami is not JSON: %v", c.Persona, err)
			}
			if who.Persona != c.Persona || who.Env != c.Env {
				return nil, fmt.Errorf("logging %s in %s: the proxy holds a session of %q in %q instead: is another `authdev test` or `authdev as` switching this proxy?", c.Persona, c.Env, who.Persona, who.Env)
			}
			return &http.Client{Transport: r.t.Transport(), Jar: jar, CheckRedirect: noRedirects}, nil
		default:
			detail := proxyDetail(page)
			if detail == "" {
				detail = oidcgrant.PageHint(page)
			}
			return nil, fmt.Errorf("logging %s in: %s answered %s: %s", c.Persona, next.Redacted(), resp.Status, detail)
		}
	}
	return nil, fmt.Errorf("logging %s in: too many redirects", c.Persona)
}

// samlFormRE and hiddenRE read the HTTP-POST binding's form of the IdP.
var (
	samlFormRE = regexp.MustCompile(`<form method="post" action="([^"]*)" id="saml">`)
	hiddenRE   = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// samlPostForm is the action and fields of the IdP's SAML form.
func samlPostForm(page []byte) (string, url.Values) {
	fields := url.Values{}
	for _, m := range hiddenRE.FindAllSubmatch(page, -1) {
		fields.Set(html.UnescapeString(string(m[1])), html.UnescapeString(string(m[2])))
	}
	return html.UnescapeString(string(samlFormRE.FindSubmatch(page)[1])), fields
}

// token gets an access token for the case's persona from its
// environment's issuer, through the IdP's public CLI client.
func (r *runner) token(ctx context.Context, c Case) (string, error) {
	iss := r.t.Issuer(c.Env)
	client := &http.Client{Transport: r.t.Transport(), Timeout: 30 * time.Second}
	ep, err := lazyOf(&r.mu, r.endpoints, iss).get(func() (oauth2.Endpoint, error) {
		return oidcgrant.Discover(ctx, client, iss)
	})
	if err != nil {
		return "", err
	}
	tok, err := oidcgrant.CodeAt(ctx, ep, oidcgrant.Request{Issuer: iss, ClientID: config.CLIClientID,
		Persona: c.Persona, HTTPClient: client, Scopes: []string{"openid", "profile", "email"}})
	if err != nil {
		return "", fmt.Errorf("getting a token for %s in %s: %w", c.Persona, c.Env, err)
	}
	if tok.AccessToken == "" {
		return "", errors.New("the token endpoint returned no access token")
	}
	return tok.AccessToken, nil
}
