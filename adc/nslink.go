package adc

import (
	"fmt"
	"net"
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
	n.compileSelectors(s)
	n.compileActions(s)
	n.compilePolicies(s)
	vsBinds, aaaAuthz, globals := n.resolveBinds(s)
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
	build := func(include func(*vserver) bool) *chains {
		ch := &chains{}
		var resp, authz, rw []*binding
		for _, v := range n.vservers {
			if include(v) {
				resp = append(resp, vsBinds[v.name][KindResponder]...)
				authz = append(authz, vsBinds[v.name][KindAuthorization]...)
				rw = append(rw, vsBinds[v.name][KindRewrite]...)
			}
		}
		ch.responder = slices.Concat(globals[KindResponder+"/override"], sortBindings(resp), globals[KindResponder+"/default"])
		ch.authz = slices.Concat(s.yamlBindings, sortBindings(append(authz, aaaAuthz...)))
		ch.rewrite = slices.Concat(globals[KindRewrite+"/override"], sortBindings(rw), globals[KindRewrite+"/default"])
		return ch
	}
	toProxy := func(v *vserver) bool { return !known[v.name] }
	e.all = build(func(*vserver) bool { return true })
	e.proxy = build(toProxy)
	e.upstream = map[string]*chains{}
	for _, v := range n.vservers {
		if known[v.name] {
			name := v.name
			e.upstream[name] = build(func(x *vserver) bool { return x.name == name || toProxy(x) })
		}
	}
	n.settings(s)
}

func (n *nsconf) compileSelectors(s *session) {
	// A selector may not use SYS.CHECK_LIMIT: counting while computing the
	// key would recurse.
	selEnv := &env{limits: map[string]*limiter{}, oauthAttrs: s.env.oauthAttrs}
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
		f := v.ip
		return func(e *evalCtx, b []byte) []byte { return appendAddr(b, f(e)) }
	case tyNum:
		f := v.n
		return func(e *evalCtx, b []byte) []byte { return strconv.AppendInt(b, f(e), 10) }
	case tyBool:
		f := v.b
		return func(e *evalCtx, b []byte) []byte { return strconv.AppendBool(b, f(e)) }
	}
	f := v.s
	return func(e *evalCtx, b []byte) []byte { return append(b, f(e)...) }
}

func (n *nsconf) compileActions(s *session) {
	for _, ref := range n.actionOrder {
		switch ref.kind {
		case KindRewrite:
			a := n.rwActs[ref.name]
			if a.typ == "insert_http_header" || a.typ == "replace" {
				a.value = s.compileString(a.src, "rewrite action "+quote(a.name))
			}
			if a.typ == "insert_http_header" {
				s.own(a.header)
			}
		case KindResponder:
			a := n.respActs[ref.name]
			if a.typ == "respondwith" || a.typ == "redirect" {
				a.target = s.compileString(a.src, "responder action "+quote(a.name))
			}
		}
	}
}

func (n *nsconf) compilePolicies(s *session) {
	for _, np := range n.policyOrder {
		p := np.p
		p.fn = s.compileRule(np.src, p.kind+" policy "+quote(p.name))
		act := np.action.text
		bad := func(kind string, names []string) {
			s.failTok(np.cmd, np.action, "no %s action %q: define it with `add %s action %s ...`%s", kind, act, kind, act, didYouMean(act, names))
		}
		switch p.kind {
		case KindRewrite:
			switch strings.ToUpper(act) {
			case "NOREWRITE":
				p.rw = actNOREWRITE
			case "RESET":
				p.rw = actRWRESET
			case "DROP":
				p.rw = actRWDROP
			default:
				if a, ok := n.rwActs[act]; ok {
					p.rw = a
				} else {
					bad("rewrite", mapKeys(n.rwActs))
				}
			}
			if p.rw != nil {
				p.action = p.rw.name
			}
		case KindResponder:
			switch strings.ToUpper(act) {
			case "NOOP":
				p.resp = actNOOP
			case "RESET":
				p.resp = actRESET
			case "DROP":
				p.resp = actDROP
			default:
				if a, ok := n.respActs[act]; ok {
					p.resp = a
				} else {
					bad("responder", mapKeys(n.respActs))
				}
			}
			if p.resp != nil {
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
func (n *nsconf) resolveBinds(s *session) (map[string]map[string][]*binding, []*binding, map[string][]*binding) {
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
		if np.p.kind == "authentication" {
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
			s.warn(b.cmd.pos, b.cmd.verbText(), fmt.Sprintf("%s: -type %s is not emulated: authdev evaluates requests only", b.cmd.verbText(), typ))
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
		if !np.bound && np.p.kind != "authentication" {
			s.warn(np.cmd.pos, np.cmd.verbText(), fmt.Sprintf("%s policy %q is never bound: the ADC does not evaluate it", np.p.kind, np.p.name))
		}
	}
	return vs, aaa, globals
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
		s.failTok(b.cmd, b.policy, "no %s policy %q%s", strings.Join(b.kinds, ", "), name, didYouMean(name, all))
	default:
		s.failTok(b.cmd, b.policy, "%q names policies of several kinds: rename one", name)
	}
	return nil
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
			s.warn(b.cmd.pos, b.cmd.verbText(), fmt.Sprintf("%s policies are bound but `enable ns feature` does not list %s: the ADC would not run them; authdev does", k, f))
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
	if len(withBackends) > 1 {
		s.warn(config.Pos{File: n.file}, "add lb vserver", fmt.Sprintf("lb vservers %s all become upstreams with prefix /: give each its prefix under proxy.upstreams with the same name", strings.Join(withBackends, ", ")))
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
			s.failTok(b.cmd, b.tok, "serviceGroup %q has no members: add `bind serviceGroup %s SERVER PORT`", b.name, b.name)
			return nil, nil, false
		}
	} else if sv, ok := n.services[b.name]; ok {
		targets = append(targets, target(sv.proto, sv.host, sv.port))
	} else {
		s.failTok(b.cmd, b.tok, "no serviceGroup or service %q: add it with `add serviceGroup %s HTTP`", b.name, b.name)
		return nil, nil, false
	}
	for _, ref := range monNames {
		if m, ok := n.monitors[ref.name]; ok {
			return targets, m, true
		}
		s.failTok(ref.cmd, ref.tok, "no lb monitor %q: add it with `add lb monitor %s HTTP -respCode 200 -httpRequest \"GET /healthz\"`", ref.name, ref.name)
	}
	return targets, nil, true
}
