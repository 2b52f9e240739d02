package adc

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authdev/authdev/config"
)

// link compiles every ns.conf expression, resolves names, and builds the
// evaluation chains and settings.
func (n *nsconf) link(s *session) {
	e := s.e
	n.compileNamed(s)
	n.compileSelectors(s)
	n.compileActions(s)
	n.compilePolicies(s)
	n.resolveCSBinds(s)
	binds := n.resolveBinds(s)
	n.linkFlow(s)
	n.checkFeatures(s)

	known := map[string]bool{}
	for _, u := range s.cfg.Proxy.Upstreams {
		known[u.Name] = true
	}
	for _, v := range n.vservers {
		if len(v.backends) > 0 {
			known[v.name] = true
		}
	}
	toProxy := func(v *vserver) bool { return !known[v.name] }
	e.all = binds.chains(s, n.vserverNames(func(*vserver) bool { return true }))
	e.proxy = binds.chains(s, n.vserverNames(toProxy))
	e.upstream = map[string]*chains{}
	for _, v := range n.vservers {
		if known[v.name] {
			name := v.name
			e.upstream[name] = binds.chains(s, n.vserverNames(func(x *vserver) bool { return x.name == name || toProxy(x) }))
		}
	}
	n.linkCS(s, binds)
	n.settings(s)
}

func (n *nsconf) vserverNames(include func(*vserver) bool) []string {
	var names []string
	for _, v := range n.vservers {
		if include(v) {
			names = append(names, v.name)
		}
	}
	return names
}

// boundPolicies are the resolved bindings: per vserver and kind, for aaa
// users and groups, and global (override or default).
type boundPolicies struct {
	vservers map[string]map[string][]*binding
	aaa      []*binding
	globals  map[string][]*binding
}

// chains orders policies: the global overrides, those bound to the first
// vservers, then those bound to the later ones (the lb vserver a cs vserver
// picked) with aaa users' and groups', then the global defaults. Policies
// of vservers in one group are evaluated together, by priority.
func (bp *boundPolicies) chains(s *session, first []string, later ...string) *chains {
	if len(later) == 0 {
		first, later = nil, first
	}
	gather := func(names []string, kind string) []*binding {
		var bs []*binding
		for _, name := range names {
			bs = append(bs, bp.vservers[name][kind]...)
		}
		return bs
	}
	kind := func(k string) []*binding {
		return slices.Concat(bp.globals[k+"/override"], sortBindings(gather(first, k)), sortBindings(gather(later, k)), bp.globals[k+"/default"])
	}
	return &chains{
		responder: kind(KindResponder),
		authz:     slices.Concat(s.yamlBindings, sortBindings(gather(first, KindAuthorization)), sortBindings(append(gather(later, KindAuthorization), bp.aaa...))),
		rewrite:   kind(KindRewrite),
	}
}

// compileNamed compiles every named expression, so that an error in one is
// reported at its own line even when no rule uses it.
func (n *nsconf) compileNamed(s *session) {
	for _, x := range n.exprs {
		ne := s.env.named[x.name]
		if _, err := s.env.namedValue(ne); err != nil {
			s.notEmulated(x.src, "policy expression "+quote(ne.name), err, EffectNone)
		}
	}
}

func (n *nsconf) compileSelectors(s *session) {
	// A selector may not use SYS.CHECK_LIMIT: counting while computing the
	// key would recurse.
	selEnv := newEnv(map[string]*limiter{}, s.e.now)
	selEnv.oauthAttrs, selEnv.patsets, selEnv.stringMaps, selEnv.named = s.env.oauthAttrs, s.env.patsets, s.env.stringMaps, s.env.named
	keys := map[string][]keyFn{}
	for name, sel := range n.selectors {
		for _, src := range sel.exprs {
			v, err := compileValue(src.text, selEnv)
			if err != nil {
				s.compileErr(src, "stream selector "+quote(name), err)
				continue
			}
			keys[name] = append(keys[name], keyOf(v))
		}
	}
	for _, l := range s.e.limits {
		if l.selector == "" {
			continue
		}
		sel, ok := n.selectors[l.selector]
		if !ok {
			s.fail(config.Pos{File: l.pos.File, Line: l.pos.Line, Col: 1}, fmt.Sprintf("add ns limitIdentifier %s: no stream selector %q: add `add stream selector %s CLIENT.IP.SRC`", l.name, l.selector, l.selector))
			continue
		}
		l.keys = keys[sel.name]
	}
	s.env.needsBody = max(s.env.needsBody, selEnv.needsBody)
}

// keyOf turns a selector expression into an appender for rate-limit keys.
func keyOf(v val) keyFn {
	switch v.ty {
	case tyIP:
		f := v.addr
		return func(e *evalCtx, b []byte) []byte { return appendAddr(b, f(e)) }
	case tyNum:
		f := v.num
		return func(e *evalCtx, b []byte) []byte { return strconv.AppendInt(b, f(e), 10) }
	case tyBool:
		f := v.pred
		return func(e *evalCtx, b []byte) []byte { return strconv.AppendBool(b, f(e)) }
	}
	f := v.text
	return func(e *evalCtx, b []byte) []byte { return append(b, f(e)...) }
}

func (n *nsconf) compileActions(s *session) {
	for _, ref := range n.actionOrder {
		switch ref.kind {
		case KindRewrite:
			a := n.rwActs[ref.name]
			if a.typ == "insert_http_header" || a.typ == "replace" {
				a.value = s.compileString(a.src, "rewrite action "+quote(a.name), EffectDecision)
			}
			if a.typ == "insert_http_header" {
				s.own(a.header)
			}
		case KindResponder:
			a := n.respActs[ref.name]
			if a.typ == "respondwith" || a.typ == "redirect" {
				a.target = s.compileString(a.src, "responder action "+quote(a.name), EffectDecision)
			}
		case kindAudit:
			a := n.msgActs[ref.name]
			a.text = s.compileString(a.src, "audit message action "+quote(a.name), EffectNone)
		}
	}
}

func (n *nsconf) compilePolicies(s *session) {
	for _, np := range n.policyOrder {
		p := np.p
		effect := EffectDecision
		if p.kind == kindAuthentication {
			effect = effectQuiet
		}
		p.fn = s.compileRule(np.src, p.kind+" policy "+quote(p.name), effect)
		n.policyExtras(s, np)
		act := np.action.text
		bad := func(kind string, names []string) {
			s.failTok(np.cmd, np.action, "no %s action %q: define it with `add %s action %s ...`%s", kind, act, kind, act, didYouMean(act, names))
		}
		switch p.kind {
		case KindRewrite:
			if p.rw = lookupAction(act, builtinRewrites, n.rwActs, func(names []string) { bad("rewrite", names) }); p.rw != nil {
				p.action = p.rw.name
			}
		case KindResponder:
			if p.resp = lookupAction(act, builtinResponders, n.respActs, func(names []string) { bad("responder", names) }); p.resp != nil {
				p.action = p.resp.name
			}
		case KindSession:
			if a, ok := n.sessActs[act]; ok {
				p.sess, p.action = a, a.name
			} else {
				s.failTok(np.cmd, np.action, "no session action %q: define it with `add tm sessionAction %s ...`%s", act, act, didYouMean(act, mapKeys(n.sessActs)))
			}
		}
	}
}

// policyExtras resolves a policy's UNDEF action and audit message action.
func (n *nsconf) policyExtras(s *session, np *nsPolicy) {
	p := np.p
	if u := np.undef.text; u != "" {
		switch p.kind {
		case KindResponder:
			if p.undefResp = builtinResponders.get(u); p.undefResp == nil {
				p.undefResp = n.respActs[u]
			}
		case KindRewrite:
			if p.undefRW = builtinRewrites.get(u); p.undefRW == nil {
				p.undefRW = n.rwActs[u]
			}
		}
		if p.undefResp == nil && p.undefRW == nil {
			s.failTok(np.cmd, np.undef, "no %s action %q for UNDEF results: use %s or an action defined in the file", p.kind, u, map[string]string{KindResponder: "NOOP, RESET or DROP", KindRewrite: "NOREWRITE, RESET or DROP"}[p.kind])
		}
	}
	if l := np.logAction.text; l != "" {
		a, ok := n.msgActs[l]
		if !ok {
			s.failTok(np.cmd, np.logAction, "no audit message action %q: define it with `add audit messageaction %s INFORMATIONAL \"...\"`%s", l, l, didYouMean(l, mapKeys(n.msgActs)))
			return
		}
		p.log = a
	}
}

// lookupAction is the built-in action called name, else the one the
// ns.conf defines; when neither exists it tells bad the defined names.
func lookupAction[A any](name string, builtin builtins[A], defined map[string]*A, bad func(names []string)) *A {
	if a := builtin.get(name); a != nil {
		return a
	}
	if a, ok := defined[name]; ok {
		return a
	}
	bad(mapKeys(defined))
	return nil
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// resolveBinds turns bind commands into bindings: per vserver and kind,
// for aaa users and groups, and global (override or default).
func (n *nsconf) resolveBinds(s *session) *boundPolicies {
	vs := map[string]map[string][]*binding{}
	var aaa []*binding
	globals := map[string][]*binding{}
	e := s.e
	for _, b := range n.binds {
		np := n.findPolicy(s, b)
		if np == nil {
			continue
		}
		np.bound = true
		if np.p.kind == kindAuthentication {
			for _, a := range n.authnVS {
				if a.name == b.where {
					a.policies = append(a.policies, np.p.name)
				}
			}
			continue
		}
		if np.p.fn == nil {
			continue // its rule did not compile; the error is reported
		}
		typ := strings.ToUpper(b.typ)
		if b.scope == "vserver" && typ != "" && typ != "REQUEST" {
			s.warn(b.cmd.pos, b.cmd.verbText(), EffectNone, fmt.Sprintf("%s: -type %s is not emulated: authdev evaluates requests only", b.cmd.verbText(), typ))
			continue
		}
		bd := newBinding(np.p, b.priority, b.target)
		switch b.gotoExpr {
		case "NEXT":
			bd.gotoNext = true
		case "", "END", "USE_INVOCATION_RESULT":
		default:
			bd.gotoPrio, _ = strconv.Atoi(b.gotoExpr)
		}
		switch b.scope {
		case "user":
			name := b.where
			bd.who = func(u *User) bool { return u != nil && u.Name == name }
		case "group":
			g := b.where
			bd.who = func(u *User) bool { return isMember(u, g) }
		}
		switch {
		case np.p.kind == KindSession:
			e.sessions = append(e.sessions, bd)
		case b.scope == "vserver":
			if vs[b.where] == nil {
				vs[b.where] = map[string][]*binding{}
			}
			vs[b.where][np.p.kind] = append(vs[b.where][np.p.kind], bd)
		case b.scope == "global":
			when := "/default"
			if typ == "REQ_OVERRIDE" {
				when = "/override"
			}
			globals[np.p.kind+when] = append(globals[np.p.kind+when], bd)
		default:
			aaa = append(aaa, bd)
		}
	}
	for k, bs := range globals {
		globals[k] = sortBindings(bs)
	}
	e.sessions = sortBindings(e.sessions)
	for _, np := range n.policyOrder {
		if !np.bound && np.p.kind != kindAuthentication && !np.builtin {
			s.warn(np.cmd.pos, np.cmd.verbText(), EffectNone, fmt.Sprintf("%s policy %q is never bound: the ADC does not evaluate it", np.p.kind, np.p.name))
		}
	}
	return &boundPolicies{vservers: vs, aaa: aaa, globals: globals}
}

// findPolicy finds the policy a bind names among the kinds it allows.
func (n *nsconf) findPolicy(s *session, b *nsBind) *nsPolicy {
	name := b.policy.text
	var found []*nsPolicy
	var all []string
	for _, k := range b.kinds {
		m := n.policiesOf(k)
		if np, ok := m[name]; ok {
			found = append(found, np)
		}
		all = append(all, mapKeys(m)...)
	}
	switch len(found) {
	case 1:
		return found[0]
	case 0:
		for _, k := range []string{KindSession, kindAuthentication, KindAuthorization, KindResponder, KindRewrite} {
			if _, ok := n.policiesOf(k)[name]; ok {
				s.warn(b.cmd.pos, b.cmd.verbText(), EffectNone, fmt.Sprintf("%s: a %s policy bound here is not evaluated by authdev", b.cmd.verbText(), k))
				return nil
			}
		}
		if f, ok := n.foreign[name]; ok || isBuiltinPolicy(name) {
			if !ok {
				f = foreignPolicy{family: "built-in", effect: EffectNone}
			}
			s.warn(b.cmd.pos, b.cmd.verbText(), f.effect, fmt.Sprintf("%s: %s policy %q is not emulated", b.cmd.verbText(), f.family, name))
			return nil
		}
		s.failTok(b.cmd, b.policy, "no %s policy %q%s", strings.Join(b.kinds, ", "), name, didYouMean(name, all))
	default:
		s.failTok(b.cmd, b.policy, "%q names policies of several kinds: rename one", name)
	}
	return nil
}

// isBuiltinPolicy reports the appliance's own policies (ns_cmp_*,
// _cacheOCS..., SETTMSESSPARAMS_ADV_POL), which no ns.conf defines.
func isBuiltinPolicy(name string) bool {
	return strings.HasPrefix(name, "ns_") || strings.HasPrefix(name, "_") || strings.HasSuffix(name, "_ADV_POL")
}

func (n *nsconf) policiesOf(kind string) map[string]*nsPolicy {
	switch kind {
	case KindAuthorization:
		return n.authzPols
	case KindRewrite:
		return n.rwPols
	case KindResponder:
		return n.respPols
	case KindSession:
		return n.sessPols
	}
	return n.authnPols
}

// checkFeatures warns when policies are bound whose feature the ns.conf
// never enables: the ADC would skip them, authdev runs them.
func (n *nsconf) checkFeatures(s *session) {
	if len(n.features) == 0 {
		return
	}
	need := map[string]string{KindRewrite: "REWRITE", KindResponder: "RESPONDER", KindAuthorization: "AAA"}
	warned := map[string]bool{}
	for _, b := range n.binds {
		for _, k := range b.kinds {
			np := n.policiesOf(k)[b.policy.text]
			f := need[k]
			if np == nil || f == "" || warned[f] || slices.Contains(n.features, f) {
				continue
			}
			warned[f] = true
			s.warn(b.cmd.pos, b.cmd.verbText(), EffectDecision, fmt.Sprintf("%s policies are bound but `enable ns feature` does not list %s: the ADC would not run them; authdev does", k, f))
		}
	}
}

func isConstTrue(rule string) bool {
	switch strings.ToUpper(strings.TrimSpace(rule)) {
	case "TRUE", "NS_TRUE":
		return true
	}
	return false
}

func (n *nsconf) settings(s *session) {
	e := s.e
	st := &e.settings
	st.AAATM = n.aaaTM
	st.Authn = n.backends
	for i := range st.Authn.SAML {
		a := &st.Authn.SAML[i]
		if a.relayRule.text == "" {
			continue
		}
		// The appliance loads a rule that is not true or false (real
		// configs have -relaystateRule HTTP.REQ.URL): it checks nothing.
		rule, err := compileBool(a.relayRule.text, s.env)
		if err != nil {
			s.warn(a.Pos, "add authentication samlAction", EffectDecision, fmt.Sprintf("samlAction %q: -relaystateRule %q checks no login: %v", a.Name, a.relayRule.text, err))
			continue
		}
		a.RelayStateCheck = func(r *http.Request, relay string) (bool, string) {
			ctx := &evalCtx{req: &Request{HTTP: r, RelayState: relay}, eng: e}
			return rule(ctx) && ctx.undef == "", ctx.undef
		}
	}
	if n.aaaTM {
		st.DefaultAuthorization = "DENY"
		st.DefaultAuthorizationFrom = "the ADC's default for AAA-TM (" + s.rel(n.file) + " sets no -defaultAuthorizationAction)"
	}
	if p := n.sessParam; p != nil {
		if p.defaultAuthz != "" {
			st.DefaultAuthorization = p.defaultAuthz
			st.DefaultAuthorizationFrom = "set tm sessionParameter at " + s.relPos(p.defaultPos)
		}
		if p.timeout > 0 {
			st.SessionTimeout = p.timeout
		}
	}
	for _, b := range e.sessions {
		if b.who != nil || !isConstTrue(b.p.rule) || b.p.sess == nil {
			continue
		}
		if a := b.p.sess; a.defaultAuthz != "" {
			st.DefaultAuthorization = a.defaultAuthz
			st.DefaultAuthorizationFrom = "tm sessionAction " + a.name + " at " + s.relPos(a.defaultPos)
		}
		if b.p.sess.timeout > 0 {
			st.SessionTimeout = b.p.sess.timeout
		}
		break
	}
	e.defaultAllow = st.DefaultAuthorization == "ALLOW"

	var withBackends []string
	for _, v := range n.vservers {
		if len(v.backends) == 0 {
			continue
		}
		u := config.Upstream{Name: v.name, Prefix: "/", LB: v.lbMethod, API: v.api,
			Timeout: config.Duration(30 * time.Second), Pos: v.pos}
		for _, b := range v.backends {
			targets, mon, ok := n.backend(s, b)
			if !ok {
				continue
			}
			u.Targets = append(u.Targets, targets...)
			if u.Monitor == nil && mon != nil {
				m := mon.mon
				u.Monitor = &m
			}
		}
		st.Upstreams = append(st.Upstreams, u)
		withBackends = append(withBackends, v.name)
	}
	if len(withBackends) > 1 && len(n.cs) == 0 {
		s.warn(config.Pos{File: n.file}, "add lb vserver", EffectDecision, fmt.Sprintf("lb vservers %s all become upstreams with prefix /: give each its prefix under proxy.upstreams with the same name", strings.Join(withBackends, ", ")))
	}
}

// backend resolves a service group or service into target URLs.
func (n *nsconf) backend(s *session, b backendRef) ([]string, *monitor, bool) {
	target := func(proto, host, port string) string {
		if addr, ok := n.servers[host]; ok {
			host = addr
		}
		scheme := "http"
		if proto == "SSL" {
			scheme = "https"
		}
		return scheme + "://" + net.JoinHostPort(host, port)
	}
	var monNames []backendRef
	var targets []string
	if g, ok := n.groups[b.name]; ok {
		for _, m := range g.members {
			targets = append(targets, target(g.proto, m.host, m.port))
		}
		monNames = g.monitors
		if len(targets) == 0 {
			s.warn(b.cmd.pos, b.cmd.verbText(), EffectDecision, fmt.Sprintf("serviceGroup %q has no members: requests to %s get 503", b.name, b.name))
			return nil, nil, false
		}
	} else if sv, ok := n.services[b.name]; ok {
		targets = append(targets, target(sv.proto, sv.host, sv.port))
		monNames = sv.monitors
	} else if what, ok := n.skipped[b.name]; ok {
		s.warn(b.cmd.pos, b.cmd.verbText(), EffectNone, fmt.Sprintf("%s %q is not emulated: authdev proxies HTTP and SSL only", what, b.name))
		return nil, nil, false
	} else {
		s.failTok(b.cmd, b.tok, "no serviceGroup or service %q: add it with `add serviceGroup %s HTTP`", b.name, b.name)
		return nil, nil, false
	}
	var chosen *monitor
	for _, ref := range monNames {
		m := n.monitor(ref.name)
		switch {
		case m == nil:
			s.failTok(ref.cmd, ref.tok, "no lb monitor %q: add it with `add lb monitor %s HTTP -respCode 200 -httpRequest \"GET /healthz\"`", ref.name, ref.name)
		case m.mon.Path == "" && m.builtin:
			s.warn(ref.cmd.pos, ref.cmd.verbText(), EffectNone, fmt.Sprintf("monitor %q is a %s monitor: not emulated, authdev runs HTTP monitors only", m.name, m.typ))
		case m.mon.Path != "" && chosen == nil:
			chosen = m
		}
	}
	if chosen != nil {
		return targets, chosen, true
	}
	return targets, nil, true
}

// monitor finds a monitor by name; the built-in ones answer to any case,
// as ns.conf files written by hand spell them.
func (n *nsconf) monitor(name string) *monitor {
	if m, ok := n.monitors[name]; ok {
		return m
	}
	if m, ok := n.monitors[strings.ToLower(name)]; ok && m.builtin {
		return m
	}
	return nil
}
