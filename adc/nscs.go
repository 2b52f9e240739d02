package adc

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/authdev/authdev/config"
)

// Content switching: a cs vserver receives the request, its cs policies
// pick the lb vserver that serves it (or -lbvserver, the default), and the
// responder, authorization and rewrite policies bound at the cs vserver
// run before those of the lb vserver it picked.

type csVServer struct {
	name, proto, addr string
	defaultLB         backendRef // -lbvserver; name "" when none
	vsAuthn
	binds    []*command // -policyName binds, resolved at link
	switches []*csSwitchBind
	pos      config.Pos
}

// csSwitchBind is a cs policy bound to a cs vserver.
type csSwitchBind struct {
	pol      *csPolicy
	target   backendRef // -targetLBVserver, or the policy's action
	priority int
	cmd      *command
}

type csAction struct {
	name   string
	target backendRef
}

type csPolicy struct {
	name, rule string
	src        exprSrc
	action     ntok // "" when the bind names the target
	fn         boolFn
	cmd        *command
}

func (s *session) addCSVServer(c *command) {
	name, proto, ok := s.proxiedArgs(c, "cs vserver", "add cs vserver NAME HTTP|SSL [IP PORT]")
	if !ok {
		return
	}
	if s.csVServer(name) != nil {
		s.failTok(c, c.args[0], "cs vserver %q is defined twice", name)
		return
	}
	cs := &csVServer{name: name, proto: proto, addr: addrOf(c.args[2:]), pos: c.pos}
	s.vserverAuthn(c, &cs.vsAuthn)
	s.ns.cs = append(s.ns.cs, cs)
	s.finish(c, append(serviceTuning, "persistencetype", "timeout", "casesensitive", "precedence", "stateupdate",
		"httpprofilename", "tcpprofilename", "cookiename", "dnsrecordtype", "insertvserveripport", "vipheader")...)
}

func (s *session) csVServer(name string) *csVServer {
	for _, v := range s.ns.cs {
		if v.name == name {
			return v
		}
	}
	return nil
}

// addCSAction is `add cs action NAME -targetLBVserver LB`.
func (s *session) addCSAction(c *command) {
	if !s.needArgs(c, 1, "add cs action NAME -targetLBVserver LBVSERVER") {
		return
	}
	target, o := c.optVal("targetlbvserver")
	if o == nil || target == "" {
		if _, e := c.optVal("targetvserverexpr"); e != nil {
			s.warn(c.pos, c.verbText(), EffectDecision, fmt.Sprintf("cs action %q: -targetVserverExpr is not emulated: policies using it pick no lb vserver", c.args[0].text))
			s.ns.csActs[c.args[0].text] = &csAction{name: c.args[0].text}
			return
		}
		s.failCmd(c, "expected -targetLBVserver LBVSERVER")
		return
	}
	s.ns.csActs[c.args[0].text] = &csAction{name: c.args[0].text, target: backendRef{name: target, cmd: c, tok: o.vals[0]}}
	s.finish(c, "comment")
}

// addCSPolicy is `add cs policy NAME -rule RULE [-action ACTION]`, or the
// classic `-url PATTERN` and `-domain HOST`, turned into their advanced
// equivalents.
func (s *session) addCSPolicy(c *command) {
	if !s.needArgs(c, 1, "add cs policy NAME -rule RULE [-action CSACTION]") {
		return
	}
	p := &csPolicy{name: c.args[0].text, cmd: c}
	if _, o := c.optVal("rule"); o != nil && len(o.vals) > 0 {
		p.rule, p.src = o.vals[0].text, s.tokExpr(c, o.vals[0])
	} else if p.rule = classicCSRule(c); p.rule != "" {
		p.src = exprSrc{text: p.rule, pos: func(int) config.Pos { return c.pos }}
	} else {
		s.failCmd(c, "expected -rule RULE (or -url PATTERN, -domain HOST)")
		return
	}
	if o := c.opt("action"); o != nil && len(o.vals) > 0 {
		p.action = o.vals[0]
	}
	if _, dup := s.ns.csPols[p.name]; dup {
		s.failTok(c, c.args[0], "cs policy %q is defined twice", p.name)
		return
	}
	s.ns.csPols[p.name] = p
	s.finish(c, "comment", "logaction")
}

// classicCSRule turns the classic -url and -domain of a cs policy into an
// advanced rule: "/api/*" matches every path under /api/, as on the ADC.
func classicCSRule(c *command) string {
	var parts []string
	if u, o := c.optVal("url"); o != nil {
		if prefix, ok := strings.CutSuffix(u, "*"); ok {
			parts = append(parts, fmt.Sprintf("HTTP.REQ.URL.PATH.STARTSWITH(%q)", prefix))
		} else {
			parts = append(parts, fmt.Sprintf("HTTP.REQ.URL.PATH.EQ(%q)", u))
		}
	}
	if d, o := c.optVal("domain"); o != nil {
		parts = append(parts, fmt.Sprintf("HTTP.REQ.HOSTNAME.SERVER.SET_TEXT_MODE(IGNORECASE).EQ(%q)", d))
	}
	return strings.Join(parts, " && ")
}

// bindCSVServer binds the default lb vserver, a cs policy with its target,
// or a responder, authorization or rewrite policy evaluated at the cs
// vserver.
func (s *session) bindCSVServer(c *command) {
	if !s.needArgs(c, 1, "bind cs vserver NAME -policyName POLICY -targetLBVserver LB -priority N, or -lbvserver LB") {
		return
	}
	cs := s.csVServer(c.args[0].text)
	if cs == nil && s.skipped(c, c.args[0].text) {
		return
	}
	if cs == nil {
		s.failTok(c, c.args[0], "no cs vserver %q: add it first with `add cs vserver %s HTTP`", c.args[0].text, c.args[0].text)
		return
	}
	if lb, o := c.optVal("lbvserver"); o != nil && lb != "" {
		cs.defaultLB = backendRef{name: lb, cmd: c, tok: o.vals[0]}
		s.finish(c)
		return
	}
	// Which kind of policy it binds is known once the whole file is read:
	// files put together by hand bind before they add.
	cs.binds = append(cs.binds, c)
}

// resolveCSBinds sorts the policy binds of cs vservers into switches and
// the responder, authorization and rewrite policies evaluated there.
func (n *nsconf) resolveCSBinds(s *session) {
	for _, cs := range n.cs {
		for _, c := range cs.binds {
			name, _ := c.optVal("policyname")
			if p, ok := n.csPols[name]; ok {
				s.bindSwitch(cs, p, c)
			} else {
				s.bindPolicy(c, "cs vserver "+cs.name, cs.name, "vserver", vserverKinds)
			}
		}
	}
}

func (s *session) bindSwitch(cs *csVServer, p *csPolicy, c *command) {
	b := &csSwitchBind{pol: p, cmd: c}
	if t, o := c.optVal("targetlbvserver"); o != nil && t != "" {
		b.target = backendRef{name: t, cmd: c, tok: o.vals[0]}
	} else if len(c.args) == 2 {
		b.target = backendRef{name: c.args[1].text, cmd: c, tok: c.args[1]} // the 9.x form: bind cs vserver CS LB -policyName P
	}
	nb := &nsBind{}
	if c.opt("priority") != nil && !s.priority(c, nb) {
		return
	}
	b.priority = nb.priority // classic binds have none: file order decides
	cs.switches = append(cs.switches, b)
	s.finish(c, "type", "invoke", "labeltype", "labelname")
}

// csEntry is a compiled cs vserver: its switch and, per lb vserver it can
// pick ("" for none), the policies that apply.
type csEntry struct {
	name     string
	switches []csSwitch
	fallback string // -lbvserver
	chains   map[string]*chains
}

type csSwitch struct {
	fn     boolFn
	target string
	trace  PolicyTrace
}

// linkCS compiles the cs policies and builds each cs vserver's chains.
func (n *nsconf) linkCS(s *session, binds *boundPolicies) {
	if len(n.cs) == 0 {
		return
	}
	for _, name := range mapKeys(n.csPols) {
		p := n.csPols[name]
		p.fn = s.compileRule(p.src, "cs policy "+quote(p.name), EffectDecision)
	}
	e := s.e
	e.cs = map[string]*csEntry{}
	for _, cs := range n.cs {
		ent := &csEntry{name: cs.name, chains: map[string]*chains{}}
		ent.chains[""] = binds.chains(s, []string{cs.name})
		if n.csTarget(s, cs.defaultLB) {
			ent.fallback = cs.defaultLB.name
			ent.chains[ent.fallback] = binds.chains(s, []string{cs.name}, ent.fallback)
		}
		slicesSortCS(cs.switches)
		for _, b := range cs.switches {
			target := b.target
			if target.name == "" && b.pol.action.text != "" {
				a, ok := n.csActs[b.pol.action.text]
				if !ok {
					s.failTok(b.pol.cmd, b.pol.action, "no cs action %q: define it with `add cs action %s -targetLBVserver LBVSERVER`%s", b.pol.action.text, b.pol.action.text, didYouMean(b.pol.action.text, mapKeys(n.csActs)))
					continue
				}
				target = a.target
			}
			if target.name == "" && target.cmd == nil {
				s.failCmd(b.cmd, "cs policy %q has no target: add -targetLBVserver LBVSERVER or give the policy an -action", b.pol.name)
				continue
			}
			if b.pol.fn == nil || !n.csTarget(s, target) {
				continue
			}
			ent.switches = append(ent.switches, csSwitch{fn: b.pol.fn, target: target.name, trace: PolicyTrace{
				Name: b.pol.name, Kind: KindContentSwitching, Rule: b.pol.rule, Priority: b.priority, Action: target.name}})
			if ent.chains[target.name] == nil {
				ent.chains[target.name] = binds.chains(s, []string{cs.name}, target.name)
			}
		}
		e.cs[cs.name] = ent
		if e.front == nil || (cs.proto == "SSL" && n.csVServerProto(e.front.name) != "SSL") {
			e.front = ent
		}
	}
	for _, cs := range n.cs {
		if e.cs[cs.name] != e.front {
			s.warn(cs.pos, "add cs vserver", EffectNone, fmt.Sprintf("cs vserver %q: requests arrive at cs vserver %q, authdev's one listener; this one applies only to a request that names it (adc explain --vserver %s)", cs.name, e.front.name, cs.name))
		}
	}
}

func (n *nsconf) csVServerProto(name string) string {
	for _, cs := range n.cs {
		if cs.name == name {
			return cs.proto
		}
	}
	return ""
}

// csTarget checks the lb vserver a cs vserver switches to; false when
// there is none to switch to (then reported).
func (n *nsconf) csTarget(s *session, t backendRef) bool {
	if t.name == "" {
		return false
	}
	for _, v := range n.vservers {
		if v.name == t.name {
			return true
		}
	}
	if what, ok := n.skipped[t.name]; ok {
		s.warn(t.cmd.pos, t.cmd.verbText(), EffectNone, fmt.Sprintf("%s %q is not emulated: authdev proxies HTTP and SSL only", what, t.name))
		return false
	}
	s.failTok(t.cmd, t.tok, "no lb vserver %q: add it with `add lb vserver %s HTTP`", t.name, t.name)
	return false
}

func slicesSortCS(bs []*csSwitchBind) {
	slices.SortStableFunc(bs, func(a, b *csSwitchBind) int { return cmp.Compare(a.priority, b.priority) })
}

// pick runs the content switch: the first cs policy that matches, by
// priority, names the lb vserver; none falls to -lbvserver.
func (cs *csEntry) pick(c *evalCtx, res *Result) string {
	for i := range cs.switches {
		sw := &cs.switches[i]
		c.undef = ""
		ok := sw.fn(c)
		res.Trace = append(res.Trace, sw.trace)
		t := &res.Trace[len(res.Trace)-1]
		if c.undef != "" {
			t.Error, ok = c.undef, false
		}
		t.Matched = ok
		if ok {
			return sw.target
		}
	}
	return cs.fallback
}
