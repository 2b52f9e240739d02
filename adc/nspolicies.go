package adc

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authdev/authdev/config"
)

type selector struct {
	name  string
	exprs []exprSrc
	pos   config.Pos
}

// nsPolicy is a policy before its rule is compiled and its action found.
type nsPolicy struct {
	p         *policy
	src       exprSrc
	action    ntok
	undef     ntok // the action taken when the rule is UNDEF; "" for the default
	logAction ntok // an audit message action, written when the policy matches
	cmd       *command
	bound     bool
	builtin   bool // the appliance's own, such as SETTMSESSPARAMS_ADV_POL
}

// nsBind is a bind command, resolved once every policy is known.
type nsBind struct {
	target   string // "lb vserver api", "aaa group admins", "responder global", ...
	where    string // the vserver, user or group name
	scope    string // "vserver", "user", "group", "global", "tm", "authn"
	kinds    []string
	policy   ntok
	priority int
	gotoExpr string
	next     string // -nextFactor: the policy label an authentication factor goes on to
	typ      string
	cmd      *command
}

// bindPolicy records a policy binding. kinds are the policy kinds that may
// be bound there.
func (s *session) bindPolicy(c *command, target, where, scope string, kinds []string) {
	b := &nsBind{target: target, where: where, scope: scope, kinds: kinds, cmd: c}
	name, o := c.optVal("policyname")
	if o == nil {
		name, o = c.optVal("policy")
	}
	if o == nil || name == "" {
		s.failCmd(c, "expected -policyName POLICY")
		return
	}
	b.policy = o.vals[0]
	if !s.priority(c, b) {
		return
	}
	b.typ, _ = c.optVal("type")
	b.next, _ = c.optVal("nextfactor")
	s.ns.binds = append(s.ns.binds, b)
	s.finish(c, "bindpoint", "invoke", "labeltype", "labelname", "nextfactor", "secondary", "groupextraction", "targetlbvserver")
}

func (s *session) priority(c *command, b *nsBind) bool {
	p, o := c.optVal("priority")
	if o == nil {
		s.failCmd(c, "expected -priority N: advanced policies are evaluated in priority order")
		return false
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 2147483647 {
		s.failTok(c, o.tok, "-priority %q must be a number from 1 to 2147483647", p)
		return false
	}
	b.priority = n
	if g, o := c.optVal("gotopriorityexpression"); o != nil {
		if len(o.vals) == 0 {
			s.failTok(c, o.tok, "-gotoPriorityExpression needs a value: NEXT, END, USE_INVOCATION_RESULT or a priority number")
			return false
		}
		b.gotoExpr = strings.ToUpper(g)
		if !validGoto(b.gotoExpr) {
			if strings.Contains(b.gotoExpr, "NEXT") || isNumExpr(g, s.env) {
				s.warn(c.pos, c.verbText(), EffectDecision, fmt.Sprintf("%s: -gotoPriorityExpression %q is not emulated: evaluation ends after this policy, as with END", c.verbText(), g))
				b.gotoExpr = "END"
				return true
			}
			s.failTok(c, o.vals[0], "-gotoPriorityExpression %q: use NEXT, END, USE_INVOCATION_RESULT or a priority number", g)
			return false
		}
	}
	return true
}

// isNumExpr reports a valid numeric expression, which the ADC accepts as
// a goto priority.
func isNumExpr(src string, e *env) bool {
	v, err := compileValue(src, e)
	return err == nil && v.ty == tyNum
}

func validGoto(g string) bool {
	switch g {
	case "NEXT", "END", "USE_INVOCATION_RESULT":
		return true
	}
	n, err := strconv.Atoi(g)
	return err == nil && n > 0
}

// bindGlobal is `bind rewrite|responder global POLICY PRIORITY [GOTO]
// [-type REQ_OVERRIDE|REQ_DEFAULT]`.
func (s *session) bindGlobal(c *command) {
	kind := KindRewrite
	if strings.HasPrefix(c.key, "bind responder") {
		kind = KindResponder
	}
	if !s.needArgs(c, 2, c.verbText()+" POLICY PRIORITY [NEXT|END]") {
		return
	}
	b := &nsBind{target: kind + " global", scope: "global", kinds: []string{kind}, policy: c.args[0], cmd: c}
	n, err := strconv.Atoi(c.args[1].text)
	if err != nil || n < 1 {
		s.failTok(c, c.args[1], "priority %q must be a positive number", c.args[1].text)
		return
	}
	b.priority = n
	if len(c.args) > 2 {
		b.gotoExpr = strings.ToUpper(c.args[2].text)
		if !validGoto(b.gotoExpr) {
			s.failTok(c, c.args[2], "goto %q: use NEXT, END, USE_INVOCATION_RESULT or a priority number", c.args[2].text)
			return
		}
	}
	b.typ, _ = c.optVal("type")
	b.typ = strings.ToUpper(b.typ)
	switch b.typ {
	case "", "REQ_DEFAULT", "REQ_OVERRIDE":
		b.target = kind + " global " + cmp.Or(b.typ, "REQ_DEFAULT")
	case "RES_DEFAULT", "RES_OVERRIDE", "OTHERTCP_REQ_DEFAULT", "OTHERTCP_REQ_OVERRIDE":
		s.warn(c.pos, c.verbText(), EffectNone, fmt.Sprintf("%s: -type %s is not emulated: authdev evaluates HTTP requests only", c.verbText(), b.typ))
		return
	default:
		s.failTok(c, c.opt("type").tok, "-type %q: use REQ_OVERRIDE or REQ_DEFAULT", b.typ)
		return
	}
	s.ns.binds = append(s.ns.binds, b)
	s.finish(c)
}

// addPolicy is `add authorization|rewrite|responder policy NAME RULE
// ACTION` and `add tm sessionPolicy NAME RULE ACTION`.
func (s *session) addPolicy(c *command, kind string, into map[string]*nsPolicy, usage string) {
	if !s.needArgs(c, 3, usage) {
		return
	}
	name := c.args[0].text
	if _, dup := into[name]; dup {
		s.failTok(c, c.args[0], "%s policy %q is defined twice", kind, name)
		return
	}
	if len(c.args) > 4 || (len(c.args) == 4 && kind != KindRewrite && kind != KindResponder) {
		extra := c.args[min(len(c.args)-1, 3+boolInt(kind == KindRewrite || kind == KindResponder))]
		s.failTok(c, extra, "unexpected %q after the action: quote the rule if it contains spaces", extra.text)
		return
	}
	act := c.args[2]
	np := &nsPolicy{p: &policy{name: name, kind: kind, rule: c.args[1].text, pos: c.pos}, src: s.tokExpr(c, c.args[1]), action: act, cmd: c}
	if len(c.args) == 4 {
		np.undef = c.args[3]
	}
	if o := c.opt("undefaction"); o != nil && len(o.vals) > 0 {
		np.undef = o.vals[0]
	}
	if o := c.opt("logaction"); o != nil && len(o.vals) > 0 {
		np.logAction = o.vals[0]
	}
	if kind == KindAuthorization {
		switch strings.ToUpper(act.text) {
		case "ALLOW", "DENY":
			np.p.action = strings.ToUpper(act.text)
			np.p.allow = np.p.action == "ALLOW"
		default:
			s.failTok(c, act, "action %q: an authorization policy either ALLOWs or DENYs", act.text)
			return
		}
	}
	into[name] = np
	s.ns.policyOrder = append(s.ns.policyOrder, np)
	s.finish(c, "comment", "appflowaction")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *session) addAuthorizationPolicy(c *command) {
	s.ns.aaaTM = true
	s.addPolicy(c, KindAuthorization, s.ns.authzPols, "add authorization policy NAME RULE ALLOW|DENY")
}

func (s *session) addRewritePolicy(c *command) {
	s.addPolicy(c, KindRewrite, s.ns.rwPols, "add rewrite policy NAME RULE ACTION [UNDEFACTION]")
}

func (s *session) addResponderPolicy(c *command) {
	s.addPolicy(c, KindResponder, s.ns.respPols, "add responder policy NAME RULE ACTION [UNDEFACTION]")
}

func (s *session) addRewriteAction(c *command) {
	if !s.needArgs(c, 2, "add rewrite action NAME insert_http_header|delete_http_header|replace ...") {
		return
	}
	name, typ := c.args[0].text, strings.ToLower(c.args[1].text)
	a := &rewriteAction{name: name, typ: typ, pos: c.pos}
	switch typ {
	case "insert_http_header":
		if len(c.args) != 4 {
			s.failCmd(c, "expected add rewrite action %s insert_http_header HEADER EXPRESSION", name)
			return
		}
		a.header = c.args[2].text
		a.src = s.tokExpr(c, c.args[3])
		a.expr = c.args[3].text
	case "delete_http_header":
		if len(c.args) != 3 {
			s.failCmd(c, "expected add rewrite action %s delete_http_header HEADER", name)
			return
		}
		a.header = c.args[2].text
	case "replace":
		if len(c.args) != 4 {
			s.failCmd(c, "expected add rewrite action %s replace TARGET EXPRESSION", name)
			return
		}
		target, header, ok := replaceTarget(c.args[2].text)
		if !ok {
			s.warn(c.pos, c.verbText(), EffectDecision, fmt.Sprintf("rewrite action %q: replacing %s is not emulated: authdev replaces HTTP.REQ.URL, HTTP.REQ.URL.PATH, HTTP.REQ.URL.QUERY or HTTP.REQ.HEADER(\"name\"); policies using it change nothing", name, c.args[2].text))
			a.typ = ""
			break
		}
		a.target, a.header = target, header
		a.src = s.tokExpr(c, c.args[3])
		a.expr = c.args[3].text
	default:
		s.warn(c.pos, c.verbText(), EffectDecision, fmt.Sprintf("rewrite action %q: type %s is not emulated: policies using it change nothing", name, typ))
		a.typ = ""
	}
	if _, dup := s.ns.rwActs[name]; dup {
		s.failTok(c, c.args[0], "rewrite action %q is defined twice", name)
		return
	}
	s.ns.rwActs[name] = a
	s.ns.actionOrder = append(s.ns.actionOrder, actionRef{KindRewrite, name})
	s.finish(c, "comment", "bypasssafetycheck", "refinesearch", "search")
}

// replaceTarget recognises what a replace action may rewrite.
func replaceTarget(t string) (target, header string, ok bool) {
	u := strings.ToUpper(strings.ReplaceAll(t, " ", ""))
	switch u {
	case "HTTP.REQ.URL":
		return "url", "", true
	case "HTTP.REQ.URL.PATH":
		return "path", "", true
	case "HTTP.REQ.URL.QUERY":
		return "query", "", true
	}
	if strings.HasPrefix(u, `HTTP.REQ.HEADER("`) && strings.HasSuffix(u, `")`) {
		i := strings.Index(t, `"`)
		j := strings.LastIndex(t, `"`)
		if i >= 0 && j > i+1 {
			return "header", t[i+1 : j], true
		}
	}
	return "", "", false
}

func (s *session) addResponderAction(c *command) {
	if len(c.args) == 2 && builtinResponders.get(c.args[1].text) != nil {
		s.failTok(c, c.args[1], "%s is not a type of responder action: name the built-in action %s in the policy instead", c.args[1].text, strings.ToUpper(c.args[1].text))
		return
	}
	if !s.needArgs(c, 3, "add responder action NAME respondwith|redirect|respondwithhtmlpage TARGET") {
		return
	}
	name, typ := c.args[0].text, strings.ToLower(c.args[1].text)
	a := &responderAction{name: name, typ: typ, pos: c.pos}
	switch typ {
	case "respondwith", "redirect":
		a.src = s.tokExpr(c, c.args[2])
		a.expr = c.args[2].text
	case "respondwithhtmlpage":
		a.page = c.args[2].text
		s.warn(c.pos, c.verbText(), EffectNone, fmt.Sprintf("responder action %q: imported HTML page %q is not loaded: authdev answers with a page naming it", name, a.page))
	default:
		s.warn(c.pos, c.verbText(), EffectDecision, fmt.Sprintf("responder action %q: type %s is not emulated: policies using it do nothing", name, typ))
		a.typ = ""
	}
	if len(c.args) > 3 {
		s.failTok(c, c.args[3], "unexpected %q after the target: quote the target if it contains spaces", c.args[3].text)
		return
	}
	if v, o := c.optVal("responsestatuscode"); o != nil {
		code, err := strconv.Atoi(v)
		if err != nil || code < 100 || code > 599 {
			s.failTok(c, o.tok, "-responseStatusCode %q is not an HTTP status", v)
			return
		}
		a.status = code
	}
	a.reason, _ = c.optVal("reasonphrase")
	if _, dup := s.ns.respActs[name]; dup {
		s.failTok(c, c.args[0], "responder action %q is defined twice", name)
		return
	}
	s.ns.respActs[name] = a
	s.ns.actionOrder = append(s.ns.actionOrder, actionRef{KindResponder, name})
	s.finish(c, "comment", "bypasssafetycheck", "headers")
}

// addSelector is `add stream selector NAME EXPRESSION...`, and the older
// `add ns limitSelector NAME -rule EXPRESSION...`, which keys a limit the
// same way.
func (s *session) addSelector(c *command) {
	if !s.needArgs(c, 1, c.verbText()+" NAME EXPRESSION...") {
		return
	}
	name := c.args[0].text
	sel := &selector{name: name, pos: c.pos}
	exprs := c.args[1:]
	if o := c.opt("rule"); o != nil {
		exprs = o.vals
	}
	if len(exprs) == 0 {
		s.failCmd(c, "expected an expression to key the limit by, such as CLIENT.IP.SRC")
		return
	}
	for _, t := range exprs {
		sel.exprs = append(sel.exprs, s.tokExpr(c, t))
	}
	if len(sel.exprs) > 5 {
		s.failTok(c, exprs[5], "a stream selector has at most 5 expressions")
		return
	}
	s.ns.selectors[name] = sel
	s.finish(c)
}

func (s *session) addLimit(c *command) {
	if !s.needArgs(c, 1, "add ns limitIdentifier NAME -threshold N -timeSlice MS -selectorName SELECTOR") {
		return
	}
	name := c.args[0].text
	l := &limiter{name: name, threshold: 1, slice: time.Second, mode: "REQUEST_RATE", pos: c.pos,
		now: s.e.now, windows: map[string]*window{}}
	num := func(opt string, min int64) (int64, bool) {
		v, o := c.optVal(opt)
		if o == nil {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min {
			s.failTok(c, o.tok, "-%s %q must be a number of at least %d", o.tok.text[1:], v, min)
			return 0, false
		}
		return n, true
	}
	if n, ok := num("threshold", 1); ok {
		l.threshold = n
	}
	if n, ok := num("timeslice", 10); ok {
		l.slice = time.Duration(n) * time.Millisecond
	}
	if m, o := c.optVal("mode"); o != nil {
		l.mode = strings.ToUpper(m)
		switch l.mode {
		case "REQUEST_RATE":
		case "CONNECTION", "NONE":
			s.warn(c.pos, c.verbText(), EffectDecision, fmt.Sprintf("limit identifier %q: -mode %s is not emulated: counted as REQUEST_RATE", name, l.mode))
		default:
			s.failTok(c, o.tok, "-mode %q: use REQUEST_RATE, CONNECTION or NONE", m)
		}
	}
	l.selector, _ = c.optVal("selectorname")
	if _, dup := s.e.limits[name]; dup {
		s.failTok(c, c.args[0], "limit identifier %q is defined twice", name)
		return
	}
	s.e.limits[name] = l
	s.finish(c, "trapsintimeslice", "maxbandwidth")
}

// patset is an `add policy patset`: strings for CONTAINS_ANY, EQUALS_ANY,
// STARTSWITH_ANY and ENDSWITH_ANY.
type patset struct {
	name   string
	values []string
	set    map[string]struct{} // for EQUALS_ANY
}

// namedExpr is an `add policy expression NAME EXPRESSION`, compiled where a
// rule first names it.
type namedExpr struct {
	name string
	src  string
	v    val
	err  error
	done bool
	busy bool // being compiled: a name that refers to itself
}

func (s *session) addPatset(c *command) {
	if s.needArgs(c, 1, "add policy patset NAME") {
		define(s, c, s.env.patsets, "patset", &patset{name: c.args[0].text, set: map[string]struct{}{}})
	}
}

func (s *session) bindPatset(c *command) {
	if !s.needArgs(c, 2, "bind policy patset NAME STRING [-index N]") {
		return
	}
	if ps, ok := defined(s, c, s.env.patsets, "patset", "add policy patset"); ok {
		v := c.args[1].text
		ps.values = append(ps.values, v)
		ps.set[v] = struct{}{}
		s.finish(c, "index", "charset", "comment", "feature")
	}
}

func (s *session) addStringMap(c *command) {
	if s.needArgs(c, 1, "add policy stringmap NAME") {
		define(s, c, s.env.stringMaps, "string map", map[string]string{})
	}
}

func (s *session) bindStringMap(c *command) {
	if !s.needArgs(c, 3, "bind policy stringmap NAME KEY VALUE") {
		return
	}
	if m, ok := defined(s, c, s.env.stringMaps, "string map", "add policy stringmap"); ok {
		m[c.args[1].text] = c.args[2].text
		s.finish(c, "comment")
	}
}

// define puts v under the command's NAME, refusing a name defined twice.
func define[V any](s *session, c *command, m map[string]V, what string, v V) {
	name := c.args[0].text
	if _, dup := m[name]; dup {
		s.failTok(c, c.args[0], "%s %q is defined twice", what, name)
		return
	}
	m[name] = v
	s.finish(c, "comment")
}

// defined finds what a bind names; false (and reported) when the file
// never adds it.
func defined[V any](s *session, c *command, m map[string]V, what, add string) (V, bool) {
	v, ok := m[c.args[0].text]
	if !ok {
		s.failTok(c, c.args[0], "no %s %q: add it first with `%s %s`", what, c.args[0].text, add, c.args[0].text)
	}
	return v, ok
}

func (s *session) addNamedExpr(c *command) {
	if !s.needArgs(c, 2, "add policy expression NAME EXPRESSION") {
		return
	}
	name := strings.ToUpper(c.args[0].text)
	if _, dup := s.env.named[name]; dup {
		s.failTok(c, c.args[0], "policy expression %q is defined twice", c.args[0].text)
		return
	}
	s.env.named[name] = &namedExpr{name: c.args[0].text, src: c.args[1].text}
	s.ns.exprs = append(s.ns.exprs, namedSrc{name: name, src: s.tokExpr(c, c.args[1])})
	s.finish(c, "comment", "description", "clientsecuritymessage", "type")
}

// namedSrc locates a named expression, to report its errors in place.
type namedSrc struct {
	name string
	src  exprSrc
}

// messageAction is an `add audit messageaction NAME LEVEL EXPRESSION`.
type messageAction struct {
	name, level string
	expr        string
	src         exprSrc
	text        textFn
	pos         config.Pos
}

var auditLevels = []string{"EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFORMATIONAL", "DEBUG"}

func (s *session) addMessageAction(c *command) {
	if !s.needArgs(c, 3, "add audit messageaction NAME LEVEL EXPRESSION") {
		return
	}
	a := &messageAction{name: c.args[0].text, level: strings.ToUpper(c.args[1].text), expr: c.args[2].text, src: s.tokExpr(c, c.args[2]), pos: c.pos}
	if !slices.Contains(auditLevels, a.level) {
		s.failTok(c, c.args[1], "log level %q: use one of %s", c.args[1].text, strings.Join(auditLevels, ", "))
		return
	}
	if _, dup := s.ns.msgActs[a.name]; dup {
		s.failTok(c, c.args[0], "audit message action %q is defined twice", a.name)
		return
	}
	s.ns.msgActs[a.name] = a
	s.ns.actionOrder = append(s.ns.actionOrder, actionRef{kindAudit, a.name})
	s.finish(c, "lognewnslog", "logtonewnslog", "bypasssafetycheck")
}

// write records the message for the audit trail. Only a matching policy
// with a -logAction pays for it.
func (a *messageAction) write(policy string, c *evalCtx, res *Result) {
	if a.text == nil {
		return
	}
	res.Messages = append(res.Messages, AuditMessage{Policy: policy, Level: a.level, Text: a.text(c)})
}
