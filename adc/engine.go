package adc

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authdev/authdev/config"
)

// Policy kinds, as in PolicyTrace.Kind.
const (
	KindResponder     = "responder"
	KindAuthorization = "authorization"
	KindRewrite       = "rewrite"
	KindSession       = "session"
	// KindContentSwitching is a cs policy: it picks the lb vserver.
	KindContentSwitching = "content switching"

	kindAuthentication = "authentication"
	kindAudit          = "audit"
)

// Engine is a compiled set of policies: YAML `policies` and `headers` and
// the ns.conf of proxy.adc_config. It is immutable after Compile, apart from
// rate-limit counters, and safe for concurrent use.
type Engine struct {
	now      func() time.Time
	headers  []headerRule
	all      *chains            // for a request whose upstream is not known
	proxy    *chains            // vservers that map to the proxy itself
	upstream map[string]*chains // vservers named after an upstream, plus proxy
	cs       map[string]*csEntry
	front    *csEntry // the cs vserver requests arrive at; nil without one
	// defaultAllow is the default authorization action when no session
	// policy sets one.
	defaultAllow bool
	sessions     []*binding

	limits    map[string]*limiter
	needsBody int
	owned     []string
	warnings  []Warning
	lines     LineCounts
	settings  Settings
	info      Info
}

// Option changes how Compile builds an Engine.
type Option func(*Engine)

// WithNow sets the clock of rate limits; the default is time.Now.
func WithNow(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// headerRule is one YAML header: insert_http_header Name Expr.
type headerRule struct {
	name string
	fn   textFn
}

// policy is a compiled policy of any kind.
type policy struct {
	name   string
	kind   string
	rule   string
	fn     boolFn
	action string // ALLOW or DENY, or the name of a responder/rewrite/session action
	allow  bool
	resp   *responderAction
	rw     *rewriteAction
	sess   *sessionAction
	// undefResp and undefRW are taken when the rule is UNDEF.
	undefResp *responderAction
	undefRW   *rewriteAction
	log       *messageAction // written to the audit trail on a match
	pos       config.Pos
}

// binding is a policy bound at a priority, with where to go after it.
type binding struct {
	p        *policy
	priority int
	gotoNext bool // NEXT: keep evaluating after a match
	gotoPrio int  // >0: continue at the first binding with this priority or more
	// who limits an authorization policy bound to `aaa user|group`.
	who    func(*User) bool
	target string // where it is bound, for `adc check`
	trace  PolicyTrace
}

func newBinding(p *policy, priority int, target string) *binding {
	return &binding{p: p, priority: priority, target: target, trace: PolicyTrace{
		Name: p.name, Kind: p.kind, Rule: p.rule, Priority: priority, Action: p.action}}
}

// chains are the policies that apply to one request, in evaluation order.
type chains struct {
	responder, authz, rewrite []*binding
}

// Effect says what an ns.conf line authdev does not emulate could change.
type Effect int

const (
	// EffectNone: understood, and unable to change an HTTP decision (SNMP,
	// SSL ciphers, DNS, compression...).
	EffectNone Effect = iota + 1
	// EffectDecision: not emulated, and able to change how a request is
	// decided: the lines a team must look at first.
	EffectDecision

	// effectQuiet, for compiling, says a not-emulated function needs no
	// warning of its own (authentication rules: authdev's IdP decides).
	effectQuiet Effect = -1
)

func (e Effect) String() string {
	if e == EffectDecision {
		return "NOT EMULATED, able to change a decision"
	}
	return "understood, not emulated (no effect on HTTP decisions)"
}

// Warning is an ns.conf line authdev does not (fully) emulate: it is
// reported with file:line and the reason, never silently skipped.
type Warning struct {
	Pos     config.Pos
	Command string // the command's verb and object, such as "add ssl certKey"
	Effect  Effect
	Msg     string
}

// LineCounts sorts the command lines of an ns.conf by what authdev made of
// them. A line with several warnings counts once, by its worst.
type LineCounts struct {
	Total      int // command lines, without blanks and comments
	Emulated   int
	Understood int // understood, not emulated, no effect on HTTP decisions
	Decision   int // not emulated, able to change a decision
}

func (w Warning) String() string {
	return posString(w.Pos) + ": " + w.Msg
}

func posString(p config.Pos) string {
	if p.Line == 0 {
		return p.File
	}
	if p.Col == 0 {
		return p.File + ":" + itoa(p.Line)
	}
	return p.File + ":" + itoa(p.Line) + ":" + itoa(p.Col)
}

// Compile compiles the YAML policies and headers of cfg and the ns.conf of
// proxy.adc_config. Every problem is reported at once, as config.Errors
// with file:line:col and a caret under the column.
func Compile(cfg *config.Config, opts ...Option) (*Engine, error) {
	e := &Engine{now: time.Now, limits: map[string]*limiter{}}
	for _, o := range opts {
		o(e)
	}
	s := newSession(cfg, e)
	if cfg.Proxy.ADCConfig != "" {
		s.loadNSConf(cfg.Resolve(cfg.Proxy.ADCConfig))
	}
	s.compileYAML()
	s.link()
	e.countLines()
	if len(s.errs) > 0 {
		slices.SortStableFunc(s.errs, func(a, b config.Problem) int {
			return cmp.Or(strings.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
		})
		return nil, s.errs
	}
	return e, nil
}

// Warnings are the ns.conf lines authdev does not (fully) emulate: those
// that can change a decision first, then in file order.
func (e *Engine) Warnings() []Warning { return slices.Clone(e.warnings) }

// Lines counts the ns.conf's command lines by what authdev made of them.
func (e *Engine) Lines() LineCounts { return e.lines }

// countLines fills e.lines from the warnings, and orders the warnings with
// the decision-changing ones first.
func (e *Engine) countLines() {
	worst := map[config.Pos]Effect{}
	for _, w := range e.warnings {
		if w.Pos.Line == 0 {
			continue // about the file as a whole
		}
		k := config.Pos{File: w.Pos.File, Line: w.Pos.Line}
		worst[k] = max(worst[k], w.Effect)
	}
	for _, eff := range worst {
		if eff == EffectDecision {
			e.lines.Decision++
		} else {
			e.lines.Understood++
		}
	}
	e.lines.Emulated = max(e.lines.Total-e.lines.Decision-e.lines.Understood, 0)
	slices.SortStableFunc(e.warnings, func(a, b Warning) int {
		return cmp.Or(cmp.Compare(b.Effect, a.Effect), strings.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line))
	})
}

// NeedsBody is the most body bytes any HTTP.REQ.BODY(n) reads; 0 when no
// policy reads the body, so the proxy need not buffer it.
func (e *Engine) NeedsBody() int { return e.needsBody }

// OwnedHeaders are the headers the engine inserts: the proxy removes them
// from client requests so that a client cannot forge them.
func (e *Engine) OwnedHeaders() []string { return slices.Clone(e.owned) }

// Settings is what the ns.conf contributes to the proxy's configuration.
func (e *Engine) Settings() Settings {
	s := e.settings
	s.Upstreams = slices.Clone(s.Upstreams)
	return s
}

// Evaluate runs responder, authorization and rewrite policies against req,
// in the ADC's order, and writes the outcome into res. res is reset first
// and its slices reused; the common path allocates nothing.
func (e *Engine) Evaluate(req *Request, res *Result) {
	res.Response = nil
	res.Allowed = false
	res.Policy = ""
	res.URL = ""
	res.Target = ""
	res.Headers = res.Headers[:0]
	res.Trace = res.Trace[:0]
	res.Messages = res.Messages[:0]
	c := &res.ctx
	c.req, c.eng, c.undef, c.urlDone = req, e, "", false
	e.evaluate(req, c, res)
	// Do not keep the request alive through a reused Result.
	c.req, c.url, c.path, c.query = nil, "", "", ""
}

// chainsFor picks the policies for a request: those of the cs vserver it
// arrives at and the lb vserver the switch picks, else those of its
// upstream's vserver.
func (e *Engine) chainsFor(req *Request, c *evalCtx, res *Result) *chains {
	if cs := e.front; cs != nil {
		if named, ok := e.cs[req.VServer]; ok {
			cs = named
		}
		res.Target = cs.pick(c, res)
		return cs.chains[res.Target]
	}
	if req.Upstream == "" {
		return e.all
	}
	if u, ok := e.upstream[req.Upstream]; ok {
		return u
	}
	return e.proxy
}

func (e *Engine) evaluate(req *Request, c *evalCtx, res *Result) {
	ch := e.chainsFor(req, c, res)
	if e.respond(ch.responder, c, res) {
		return
	}
	e.authorize(ch.authz, c, res)
	if !res.Allowed {
		return
	}
	for _, h := range e.headers {
		if v := h.fn(c); v != "" {
			res.Headers = append(res.Headers, HeaderOp{Op: "insert", Name: h.name, Value: v})
		}
	}
	c.undef = ""
	e.rewrite(ch.rewrite, c, res)
}

// match evaluates a policy's rule and records it in the trace.
func (e *Engine) match(b *binding, c *evalCtx, res *Result) bool {
	c.undef = ""
	ok := b.p.fn(c)
	res.Trace = append(res.Trace, b.trace)
	if c.undef != "" {
		res.Trace[len(res.Trace)-1].Error = c.undef
		ok = false
	}
	res.Trace[len(res.Trace)-1].Matched = ok
	if ok && b.p.log != nil {
		b.p.log.write(b.p.name, c, res)
	}
	return ok
}

// next is the index evaluation continues at after a match at i, or -1 to
// stop.
func next(bs []*binding, i int) int {
	b := bs[i]
	switch {
	case b.gotoPrio > 0:
		for j := i + 1; j < len(bs); j++ {
			if bs[j].priority >= b.gotoPrio {
				return j
			}
		}
		return -1
	case b.gotoNext:
		return i + 1
	}
	return -1
}

func (e *Engine) respond(bs []*binding, c *evalCtx, res *Result) bool {
	for i := 0; i >= 0 && i < len(bs); {
		b := bs[i]
		act := b.p.resp
		if !e.match(b, c, res) {
			if act = b.p.undefResp; act == nil || res.Trace[len(res.Trace)-1].Error == "" {
				i++
				continue
			}
		}
		if r := act.respond(c); r != nil {
			res.Response = r
			res.Policy = b.p.name
			return true
		}
		i = next(bs, i)
	}
	return false
}

func (e *Engine) authorize(bs []*binding, c *evalCtx, res *Result) {
	decided := false
	for i := 0; i >= 0 && i < len(bs); {
		b := bs[i]
		if b.who != nil && !b.who(c.req.User) {
			i++
			continue
		}
		if !e.match(b, c, res) {
			i++
			continue
		}
		decided = true
		res.Allowed, res.Policy = b.p.allow, b.p.name
		i = next(bs, i)
	}
	if decided {
		return
	}
	res.Allowed = e.defaultAllow
	for _, b := range e.sessions {
		if b.who != nil && !b.who(c.req.User) {
			continue
		}
		if e.match(b, c, res) && b.p.sess.defaultAuthz != "" {
			res.Allowed = b.p.sess.defaultAuthz == "ALLOW"
			return
		}
	}
}

func (e *Engine) rewrite(bs []*binding, c *evalCtx, res *Result) {
	for i := 0; i >= 0 && i < len(bs); {
		b := bs[i]
		act := b.p.rw
		if !e.match(b, c, res) {
			if act = b.p.undefRW; act == nil || res.Trace[len(res.Trace)-1].Error == "" {
				i++
				continue
			}
		}
		act.apply(c, res)
		if res.Response != nil {
			return
		}
		i = next(bs, i)
	}
}

// canonical is how the proxy compares header names: case-blind, with "_"
// the same as "-".
func canonical(name string) string {
	return http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-"))
}
