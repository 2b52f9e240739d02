package adc

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/authdev/authdev/config"
)

// AuthnFlow is the ADC's nFactor flow of browser logins: the
// authentication vserver the vserver a login request reaches sends it to
// (-authnVsName, or an authnProfile's), its authentication policies by
// priority, and the policy labels their -nextFactor chains to. As on the
// appliance, the first policy of a factor whose rule is true for the
// login request picks the factor's action; a factor authdev does not
// emulate (LDAP, RADIUS, OAuth, certificates...) is passed, the persona's
// login standing for it.
type AuthnFlow struct {
	// byCS and byLB are the authentication vserver each cs and lb
	// vserver names, by the vserver's name; dflt is where a login goes
	// that reaches none of them, and why.
	byCS, byLB map[string]vsLogin
	dflt       *factor
	dfltWhy    string
	starts     []*factor // every authentication vserver's, in ns.conf order
	eng        *Engine
}

// vsLogin is the authentication vserver (its first factor) an lb or cs
// vserver sends logins to, and the option that names it.
type vsLogin struct {
	first *factor
	how   string
}

// factor is an authentication vserver or a policy label, with its policies
// in priority order.
type factor struct {
	name  string // "authentication vserver V" or "policylabel L"
	binds []*factorBind
}

// actionKind is what an authentication policy's action is, named as the
// ns.conf command that adds it.
type actionKind string

const (
	actNoAuthn     actionKind = "" // -action NO_AUTHN: a decision, no factor
	actSAML        actionKind = "samlAction"
	actLoginSchema actionKind = "loginSchema"
	actLDAP        actionKind = "ldapAction"
	actRADIUS      actionKind = "radiusAction"
	actOAuth       actionKind = "OAuthAction"
	actOther       actionKind = "action" // certAction, negotiateAction...: not parsed
)

// factorBind is an authentication policy bound to a factor.
type factorBind struct {
	policy   string
	priority int
	rule     string
	fn       boolFn // nil for a classic rule (ns_true and the like)
	action   string
	what     actionKind
	saml     *SAMLAction // the action, when a samlAction
	schema   bool        // a loginSchema policy: it picks the form, not a factor
	next     *factor
	pos      config.Pos // the policy's
	actPos   config.Pos // the action's, when known
}

// SAMLChoice is the samlAction a browser login uses (nil when none: the
// login is not SAML) and the steps of the flow that led to it. Refused
// says the appliance refuses the login: a factor has no true policy.
type SAMLChoice struct {
	Action  *SAMLAction
	Steps   []string
	Refused bool
}

// SAML follows the flow for the login request req (its HTTP request, the
// upstream and cs vserver it arrives for, as for Engine.Evaluate; an unset
// ClientIP is set from HTTP.RemoteAddr) and says which samlAction it
// reaches.
func (f *AuthnFlow) SAML(req *Request) SAMLChoice {
	if !req.ClientIP.IsValid() {
		if ap, err := netip.ParseAddrPort(req.HTTP.RemoteAddr); err == nil {
			req.ClientIP = ap.Addr().Unmap()
		}
	}
	var ch SAMLChoice
	seen := map[*factor]bool{}
	for fa := f.start(req, &ch); fa != nil && !seen[fa]; {
		seen[fa] = true
		b := f.pick(fa, req, &ch)
		switch {
		case b == nil:
			ch.Steps = append(ch.Steps, fa.name+": no policy is true: the ADC refuses this login")
			ch.Refused = true
			return ch
		case b.saml != nil:
			ch.Action = b.saml
			return ch
		}
		fa = b.next
	}
	ch.Steps = append(ch.Steps, "the login reaches no samlAction: it is not SAML")
	return ch
}

// start is the authentication vserver req reaches: that of the cs vserver
// it arrives at, else of the lb vserver content switching picks (without
// cs vservers, its upstream's), else the default; ch records why.
func (f *AuthnFlow) start(req *Request, ch *SAMLChoice) *factor {
	lb, why := req.Upstream, "the request's upstream is lb vserver "+req.Upstream
	if cs := f.eng.front; cs != nil {
		if named, ok := f.eng.cs[req.VServer]; ok {
			cs = named
		}
		if l, ok := f.byCS[cs.name]; ok {
			ch.Steps = append(ch.Steps, fmt.Sprintf("cs vserver %s names %s (%s)", cs.name, l.first.name, l.how))
			return l.first
		}
		var res Result
		lb = cs.pick(&evalCtx{req: req, eng: f.eng}, &res)
		why = fmt.Sprintf("cs vserver %s sends the request to lb vserver %s (%s)", cs.name, lb, switchReason(&res))
	}
	if l, ok := f.byLB[lb]; ok && lb != "" {
		ch.Steps = append(ch.Steps, fmt.Sprintf("%s, which names %s (%s)", why, l.first.name, l.how))
		return l.first
	}
	ch.Steps = append(ch.Steps, fmt.Sprintf("the request reaches no vserver that names an authentication vserver: the login goes to %s, %s", f.dflt.name, f.dfltWhy))
	return f.dflt
}

// switchReason names the cs policy that picked the lb vserver, from the
// trace of the switch.
func switchReason(res *Result) string {
	if n := len(res.Trace); n > 0 && res.Trace[n-1].Matched {
		return "cs policy " + res.Trace[n-1].Name + " is true"
	}
	return "no cs policy is true: its -lbvserver"
}

// pick is the first policy of fa whose rule is true for r; ch records each
// one considered.
func (f *AuthnFlow) pick(fa *factor, req *Request, ch *SAMLChoice) *factorBind {
	for _, b := range fa.binds {
		if b.schema {
			continue
		}
		ok, undef := b.eval(req, f.eng)
		step := fmt.Sprintf("%s: policy %s (priority %d, rule %s)", fa.name, b.policy, b.priority, b.rule)
		switch {
		case undef != "":
			ch.Steps = append(ch.Steps, step+" is UNDEF ("+undef+"): next policy")
			continue
		case !ok:
			ch.Steps = append(ch.Steps, step+" is false")
			continue
		}
		step += " is true: " + b.actionText()
		if e := b.emulation(); e != "" {
			step += ", " + e
		}
		ch.Steps = append(ch.Steps, step)
		return b
	}
	return nil
}

// emulation says how authdev logs in for b's action.
func (b *factorBind) emulation() string {
	switch b.what {
	case actNoAuthn, actSAML:
		return ""
	case actOAuth:
		return "an OIDC login"
	}
	return "not emulated: the persona's login stands for it"
}

func (b *factorBind) actionText() string {
	if b.what == actNoAuthn {
		return "NO_AUTHN"
	}
	return string(b.what) + " " + b.action
}

func (b *factorBind) eval(req *Request, eng *Engine) (ok bool, undef string) {
	if b.fn == nil {
		return isConstTrue(b.rule), ""
	}
	ctx := &evalCtx{req: req, eng: eng}
	ok = b.fn(ctx)
	return ok && ctx.undef == "", ctx.undef
}

// linkFlow builds the login flow once the policies are compiled, and warns
// about what of it authdev cannot follow.
func (n *nsconf) linkFlow(s *session) {
	n.checkNextFactors(s)
	cs, lb, dflt, why := n.loginVServers(s)
	if dflt == nil {
		return
	}
	labels := map[string]*factor{}
	var factorOf func(label string) *factor
	factorOf = func(label string) *factor {
		if fa, ok := labels[label]; ok {
			return fa
		}
		fa := &factor{name: "policylabel " + label}
		labels[label] = fa
		for _, l := range n.backends.Labels {
			if l.Name == label {
				for _, lb := range l.Binds {
					fa.binds = append(fa.binds, n.factorBind(lb.Policy, lb.Priority, lb.NextFactor, factorOf))
				}
			}
		}
		sortFactor(fa)
		return fa
	}
	flow := &AuthnFlow{byCS: map[string]vsLogin{}, byLB: map[string]vsLogin{}, dfltWhy: why, eng: s.e}
	firsts := map[string]*factor{}
	for _, vs := range n.authnVS {
		if vs != dflt && !namedIn(vs.name, cs) && !namedIn(vs.name, lb) {
			continue
		}
		first := &factor{name: "authentication vserver " + vs.name}
		for _, b := range n.binds {
			if b.scope == "authn" && b.where == vs.name {
				if _, ok := n.authnPols[b.policy.text]; ok {
					first.binds = append(first.binds, n.factorBind(b.policy.text, b.priority, b.next, factorOf))
				}
			}
		}
		sortFactor(first)
		firsts[vs.name] = first
		flow.starts = append(flow.starts, first)
		n.warnFlow(s, first, nil, map[*factor]bool{})
	}
	for v, named := range cs {
		flow.byCS[v] = vsLogin{first: firsts[named.authnVS], how: named.how}
	}
	for v, named := range lb {
		flow.byLB[v] = vsLogin{first: firsts[named.authnVS], how: named.how}
	}
	flow.dflt = firsts[dflt.name]
	n.backends.Flow = flow
}

// vsNamed is the authentication vserver an lb or cs vserver names, and the
// option that names it.
type vsNamed struct{ authnVS, how string }

func namedIn(authnVS string, by map[string]vsNamed) bool {
	for _, v := range by {
		if v.authnVS == authnVS {
			return true
		}
	}
	return false
}

// atPos is " (file:line)", or "" for an unknown place.
func (s *session) atPos(p config.Pos) string {
	if p.Line == 0 {
		return ""
	}
	return " (" + s.lineOf(p) + ")"
}

// lineOf is file:line, the file relative to the config's folder.
func (s *session) lineOf(p config.Pos) string {
	p.Col = 0
	return s.relPos(p)
}

// checkNextFactors refuses a -nextFactor that names no policy label, as
// the appliance does.
func (n *nsconf) checkNextFactors(s *session) {
	known := map[string]bool{}
	for _, l := range n.backends.Labels {
		known[l.Name] = true
	}
	check := func(c *command, next string) {
		if o := c.opt("nextfactor"); next != "" && !known[next] && o != nil && len(o.vals) > 0 {
			s.failTok(c, o.vals[0], "-nextFactor %q: no policy label %q: add it with `add authentication policylabel %s`", next, next, next)
		}
	}
	for _, b := range n.binds {
		check(b.cmd, b.next)
	}
	for _, l := range n.backends.Labels {
		for _, b := range l.Binds {
			check(b.cmd, b.NextFactor)
		}
	}
}

func sortFactor(fa *factor) {
	slices.SortStableFunc(fa.binds, func(a, b *factorBind) int { return cmp.Compare(a.priority, b.priority) })
}

// factorBind resolves the policy bound at a factor and its action.
func (n *nsconf) factorBind(policy string, priority int, next string, factorOf func(string) *factor) *factorBind {
	np := n.authnPols[policy]
	b := &factorBind{policy: policy, priority: priority, rule: np.p.rule, fn: np.p.fn, action: np.p.action, pos: np.p.pos}
	if next != "" {
		b.next = factorOf(next)
	}
	bk := &n.backends
	for i := range bk.SAML {
		if strings.EqualFold(bk.SAML[i].Name, b.action) {
			b.what, b.saml, b.actPos = actSAML, &bk.SAML[i], bk.SAML[i].Pos
			return b
		}
	}
	for _, ls := range bk.LoginSchemas {
		if strings.EqualFold(ls.Name, b.action) {
			b.what, b.schema = actLoginSchema, true
			return b
		}
	}
	for _, l := range bk.LDAP {
		if strings.EqualFold(l.Name, b.action) {
			b.what, b.actPos = actLDAP, l.Pos
			return b
		}
	}
	for _, r := range bk.RADIUS {
		if strings.EqualFold(r.Name, b.action) {
			b.what, b.actPos = actRADIUS, r.Pos
			return b
		}
	}
	for _, o := range n.oauth {
		if strings.EqualFold(o.Name, b.action) {
			b.what, b.actPos = actOAuth, o.Pos
			return b
		}
	}
	if !strings.EqualFold(b.action, "NO_AUTHN") {
		b.what = actOther
	}
	return b
}

// loginVServers are the authentication vservers the cs and lb vservers
// name (by the vserver's name; only those the ns.conf adds), and the one a
// login reaching none of them goes to, with why: the first named, else
// the first with policies bound.
func (n *nsconf) loginVServers(s *session) (cs, lb map[string]vsNamed, dflt *authnVServer, why string) {
	cs, lb = map[string]vsNamed{}, map[string]vsNamed{}
	add := func(into map[string]vsNamed, name string, v *vsAuthn) {
		named := vsNamed{v.authnVS, "-authnVsName"}
		if p, ok := n.authnProfiles[v.authnProfile]; ok && named.authnVS == "" {
			named = vsNamed{p, "-authnProfile " + v.authnProfile}
		} else if v.authnProfile != "" && !ok {
			s.failTok(v.authnProfileCmd, v.authnProfileTok, "no authnProfile %q: add it with `add authentication authnProfile %s -authnVsName AAA_VSERVER`", v.authnProfile, v.authnProfile)
		}
		for _, a := range n.authnVS {
			if a.name == named.authnVS {
				into[name] = named
				return
			}
		}
		if named.authnVS != "" {
			cmd := cmp.Or(v.authnVSCmd, v.authnProfileCmd)
			s.warn(cmd.pos, cmd.verbText(), EffectDecision, fmt.Sprintf("vserver %s sends browser logins to authentication vserver %q (%s), which the ns.conf does not add: add it (`add authentication vserver %s SSL 0.0.0.0 0`) with its policies; until then its logins follow the default flow",
				name, named.authnVS, named.how, named.authnVS))
		}
	}
	for _, v := range n.cs {
		add(cs, v.name, &v.vsAuthn)
	}
	for _, v := range n.vservers {
		add(lb, v.name, &v.vsAuthn)
	}
	var withPolicies []*authnVServer
	for _, a := range n.authnVS {
		if namedIn(a.name, cs) || namedIn(a.name, lb) {
			return cs, lb, a, "the first authentication vserver a vserver names"
		}
		if len(a.policies) > 0 {
			withPolicies = append(withPolicies, a)
		}
	}
	if len(withPolicies) == 0 {
		return cs, lb, nil, ""
	}
	if len(withPolicies) > 1 {
		var names []string
		for _, a := range withPolicies {
			names = append(names, a.name)
		}
		s.warn(withPolicies[1].pos, "add authentication vserver", EffectDecision, fmt.Sprintf("browser logins may go to authentication vservers %s: no lb or cs vserver names one (-authnVsName), so the proxy follows %s", strings.Join(names, ", "), names[0]))
	}
	return cs, lb, withPolicies[0], "the first with policies bound (no vserver names one)"
}

// warnFlow names every samlAction that a login reaches only after a factor
// authdev does not emulate (after: that factor's policy). The factors
// after a samlAction need no word: as every factor, the persona's login
// stands for them.
func (n *nsconf) warnFlow(s *session, fa *factor, after *factorBind, seen map[*factor]bool) {
	if fa == nil || seen[fa] {
		return
	}
	seen[fa] = true
	defer delete(seen, fa)
	for _, b := range fa.binds {
		switch {
		case b.schema:
		case b.saml != nil && after != nil:
			s.warn(b.pos, "add authentication policy", EffectDecision, fmt.Sprintf("samlAction %q (%s) is reached, through %s, only after %s %q%s, policy %s (%s): that factor is not emulated (the persona's login stands for it), so the proxy logs in with %q at once",
				b.saml.Name, s.lineOf(b.actPos), fa.name, after.what, after.action, s.atPos(after.actPos), after.policy, s.lineOf(after.pos), b.saml.Name))
		case b.saml == nil && b.what != actNoAuthn:
			n.warnFlow(s, b.next, cmp.Or(after, b), seen)
		case b.saml == nil:
			n.warnFlow(s, b.next, after, seen)
		}
	}
}

// Describe lists which authentication vserver each vserver sends logins
// to, then the flow's factors, each with its policies by priority, the
// action each picks and the factor it goes on to, as `adc check` shows
// them.
func (f *AuthnFlow) Describe() []string {
	var lines []string
	for _, by := range []struct {
		kind string
		m    map[string]vsLogin
	}{{"cs", f.byCS}, {"lb", f.byLB}} {
		for _, v := range slices.Sorted(maps.Keys(by.m)) {
			lines = append(lines, fmt.Sprintf("%s vserver %s -> %s (%s)", by.kind, v, by.m[v].first.name, by.m[v].how))
		}
	}
	if len(f.starts) > 1 || len(lines) == 0 {
		lines = append(lines, "any other login -> "+f.dflt.name+", "+f.dfltWhy)
	}
	seen := map[*factor]bool{}
	queue := slices.Clone(f.starts)
	for len(queue) > 0 {
		fa := queue[0]
		queue = queue[1:]
		if seen[fa] {
			continue
		}
		seen[fa] = true
		lines = append(lines, fa.name)
		for _, b := range fa.binds {
			if b.schema {
				continue
			}
			l := fmt.Sprintf("  %d %s: %s -> %s", b.priority, b.policy, b.rule, b.actionText())
			switch e := b.emulation(); {
			case b.saml != nil:
				l += " (SAML login)"
			case e != "":
				l += " (" + e + ")"
			}
			if b.next != nil {
				l += ", then " + b.next.name
				queue = append(queue, b.next)
			}
			lines = append(lines, l)
		}
	}
	return lines
}
