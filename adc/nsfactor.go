package adc

import (
	"cmp"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/authdev/authdev/config"
)

// AuthnFlow is the ADC's nFactor flow of a browser login: the
// authentication vserver the lb vservers send logins to (-authnVsName, or
// an authnProfile's), its authentication policies by priority, and the
// policy labels their -nextFactor chains to. As on the appliance, the
// first policy of a factor whose rule is true for the login request picks
// the factor's action; a factor authdev does not emulate (LDAP, RADIUS,
// OAuth, certificates...) is passed, the persona's login standing for it.
type AuthnFlow struct {
	first *factor
	eng   *Engine
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

// SAML follows the flow for the login request r and says which samlAction
// it reaches.
func (f *AuthnFlow) SAML(r *http.Request) SAMLChoice {
	var ch SAMLChoice
	seen := map[*factor]bool{}
	for fa := f.first; fa != nil && !seen[fa]; {
		seen[fa] = true
		b := f.pick(fa, r, &ch)
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

// pick is the first policy of fa whose rule is true for r; ch records each
// one considered.
func (f *AuthnFlow) pick(fa *factor, r *http.Request, ch *SAMLChoice) *factorBind {
	for _, b := range fa.binds {
		if b.schema {
			continue
		}
		ok, undef := b.eval(r, f.eng)
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

func (b *factorBind) eval(r *http.Request, eng *Engine) (ok bool, undef string) {
	if b.fn == nil {
		return isConstTrue(b.rule), ""
	}
	req := &Request{HTTP: r}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		req.ClientIP = ap.Addr().Unmap()
	}
	ctx := &evalCtx{req: req, eng: eng}
	ok = b.fn(ctx)
	return ok && ctx.undef == "", ctx.undef
}

// linkFlow builds the login flow once the policies are compiled, and warns
// about what of it authdev cannot follow.
func (n *nsconf) linkFlow(s *session) {
	n.checkNextFactors(s)
	vs := n.loginVServer(s)
	if vs == nil {
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
	first := &factor{name: "authentication vserver " + vs.name}
	for _, b := range n.binds {
		if b.scope == "authn" && b.where == vs.name {
			if _, ok := n.authnPols[b.policy.text]; ok {
				first.binds = append(first.binds, n.factorBind(b.policy.text, b.priority, b.next, factorOf))
			}
		}
	}
	sortFactor(first)
	n.backends.Flow = &AuthnFlow{first: first, eng: s.e}
	n.warnFlow(s, first, nil, map[*factor]bool{})
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

// loginVServer is the authentication vserver browser logins go to: the
// one the cs and lb vservers name, else the only one with policies bound.
func (n *nsconf) loginVServer(s *session) *authnVServer {
	var named []string
	var vs []*vsAuthn
	for _, v := range n.cs {
		vs = append(vs, &v.vsAuthn)
	}
	for _, v := range n.vservers {
		vs = append(vs, &v.vsAuthn)
	}
	for _, v := range vs {
		name := v.authnVS
		if p, ok := n.authnProfiles[v.authnProfile]; ok && name == "" {
			name = p
		} else if v.authnProfile != "" && !ok {
			s.failTok(v.authnProfileCmd, v.authnProfileTok, "no authnProfile %q: add it with `add authentication authnProfile %s -authnVsName AAA_VSERVER`", v.authnProfile, v.authnProfile)
		}
		if name != "" && !slices.Contains(named, name) {
			named = append(named, name)
		}
	}
	var candidates []*authnVServer
	for _, a := range n.authnVS {
		if slices.Contains(named, a.name) || len(named) == 0 && len(a.policies) > 0 {
			candidates = append(candidates, a)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	if len(candidates) > 1 {
		var names []string
		for _, a := range candidates {
			names = append(names, a.name)
		}
		s.warn(candidates[1].pos, "add authentication vserver", EffectDecision, fmt.Sprintf("browser logins may go to authentication vservers %s: the proxy has one login for every upstream and follows %s", strings.Join(names, ", "), candidates[0].name))
	}
	return candidates[0]
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

// Describe lists the flow's factors, each with its policies by priority,
// the action each picks and the factor it goes on to, as `adc check`
// shows them.
func (f *AuthnFlow) Describe() []string {
	var lines []string
	seen := map[*factor]bool{}
	queue := []*factor{f.first}
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
