package adc

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authdev/authdev/config"
)

// Info describes what Compile understood, for `authdev adc check` and the
// TUI: vservers, policies in evaluation order with where they are bound,
// actions and rate limits.
type Info struct {
	File     string // the ns.conf, relative to the config's folder; "" without one
	Features []string
	VServers []VServerInfo
	Policies []BindingInfo
	Actions  []ActionInfo
	Limits   []LimitInfo
	Headers  []ActionInfo // the YAML headers
}

// VServerInfo is an lb or authentication vserver.
type VServerInfo struct {
	Type     string // "lb", "cs" or "authentication"
	Name     string
	Protocol string
	Address  string
	MapsTo   string // "upstream NAME" or "the proxy"
	Detail   string
	Pos      config.Pos
}

// BindingInfo is a policy where it is bound.
type BindingInfo struct {
	Kind     string
	BoundTo  string
	Priority int
	Name     string
	Rule     string
	Action   string
	Goto     string
	Pos      config.Pos
}

// ActionInfo is an action and what it does.
type ActionInfo struct {
	Kind   string
	Name   string
	Detail string
	Pos    config.Pos
}

// LimitInfo is a limit identifier.
type LimitInfo struct {
	Name      string
	Threshold int64
	TimeSlice time.Duration
	Mode      string
	Selector  string
	Keys      []string
	Pos       config.Pos
}

// Info describes the compiled configuration.
func (e *Engine) Info() Info { return e.info }

func gotoText(b *binding) string {
	switch {
	case b.gotoPrio > 0:
		return strconv.Itoa(b.gotoPrio)
	case b.gotoNext:
		return "NEXT"
	}
	return "END"
}

// describe fills Engine.info once the chains exist.
func (s *session) describe() {
	e := s.e
	info := &e.info
	for _, h := range s.cfg.Proxy.Headers {
		info.Headers = append(info.Headers, ActionInfo{Kind: "header", Name: h.Name, Detail: h.Expr.Text, Pos: h.Pos})
	}
	for _, bs := range [][]*binding{e.all.responder, e.all.authz, e.sessions, e.all.rewrite} {
		for _, b := range bs {
			info.Policies = append(info.Policies, BindingInfo{Kind: b.p.kind, BoundTo: b.target, Priority: b.priority,
				Name: b.p.name, Rule: b.p.rule, Action: b.p.action, Goto: gotoText(b), Pos: b.p.pos})
		}
	}
	n := s.ns
	if n == nil {
		return
	}
	info.File = s.rel(n.file)
	info.Features = n.features
	s.describeVServers(info)
	s.describeCS(info)
	for _, a := range n.authnVS {
		detail := "no policies bound"
		if len(a.policies) > 0 {
			detail = "policies " + strings.Join(a.policies, ", ")
		}
		info.VServers = append(info.VServers, VServerInfo{Type: "authentication", Name: a.name, Protocol: a.proto,
			Address: a.addr, MapsTo: "the proxy's login", Detail: detail, Pos: a.pos})
	}
	for _, ref := range n.actionOrder {
		info.Actions = append(info.Actions, n.actionInfo(ref))
	}
	for _, name := range mapKeys(e.limits) {
		l := e.limits[name]
		li := LimitInfo{Name: l.name, Threshold: l.threshold, TimeSlice: l.slice, Mode: l.mode, Selector: l.selector, Pos: l.pos}
		if sel, ok := n.selectors[l.selector]; ok {
			for _, x := range sel.exprs {
				li.Keys = append(li.Keys, x.text)
			}
		}
		info.Limits = append(info.Limits, li)
	}
}

// describeVServers adds the lb vservers and what they become.
func (s *session) describeVServers(info *Info) {
	e := s.e
	upstreams := map[string]config.Upstream{}
	for _, u := range e.settings.Upstreams {
		upstreams[u.Name] = u
	}
	for _, v := range s.ns.vservers {
		vi := VServerInfo{Type: "lb", Name: v.name, Protocol: v.proto, Address: v.addr, MapsTo: "the proxy", Pos: v.pos}
		if _, ok := e.upstream[v.name]; ok {
			vi.MapsTo = "upstream " + v.name
		}
		d := []string{"lbMethod " + strings.ToUpper(v.lbMethod)}
		if u, ok := upstreams[v.name]; ok {
			d = append(d, "targets "+strings.Join(u.Targets, ", "))
			if m := u.Monitor; m != nil {
				d = append(d, fmt.Sprintf("monitor GET %s every %s expecting %d", m.Path, m.Interval, m.Status))
			}
		}
		if v.authn || v.authnVS != "" || v.authnProfile != "" {
			a := "authentication"
			if v.authnVS != "" {
				a += " via " + v.authnVS
			}
			if v.authnProfile != "" {
				a += " (authnProfile " + v.authnProfile + ")"
			}
			if v.authnHost != "" {
				a += " at " + v.authnHost
			}
			d = append(d, a)
		}
		if v.api {
			d = append(d, "401 for API clients (-authn401 ON)")
		}
		vi.Detail = strings.Join(d, "; ")
		info.VServers = append(info.VServers, vi)
	}
}

// actionInfo describes one action of the ns.conf.
func (n *nsconf) actionInfo(ref actionRef) ActionInfo {
	switch ref.kind {
	case KindRewrite:
		a := n.rwActs[ref.name]
		return ActionInfo{Kind: "rewrite", Name: a.name, Pos: a.pos, Detail: rewriteDetail(a)}
	case KindResponder:
		a := n.respActs[ref.name]
		return ActionInfo{Kind: "responder", Name: a.name, Pos: a.pos, Detail: responderDetail(a)}
	case KindSession:
		a := n.sessActs[ref.name]
		return ActionInfo{Kind: "session", Name: a.name, Detail: sessionDetail(a), Pos: a.pos}
	case kindAudit:
		a := n.msgActs[ref.name]
		return ActionInfo{Kind: "audit message", Name: a.name, Detail: a.level + " " + a.expr, Pos: a.pos}
	}
	for _, a := range n.oauth {
		if a.Name == ref.name {
			return ActionInfo{Kind: "OAuth", Name: a.Name, Detail: oauthDetail(a), Pos: a.Pos}
		}
	}
	return ActionInfo{}
}

func rewriteDetail(a *rewriteAction) string {
	switch a.typ {
	case "insert_http_header":
		return "insert_http_header " + a.header + " " + a.expr
	case "delete_http_header":
		return "delete_http_header " + a.header
	case "replace":
		target := map[string]string{"url": "HTTP.REQ.URL", "path": "HTTP.REQ.URL.PATH", "query": "HTTP.REQ.URL.QUERY"}[a.target]
		if a.target == "header" {
			target = `HTTP.REQ.HEADER("` + a.header + `")`
		}
		return "replace " + target + " " + a.expr
	}
	return "(not emulated)"
}

func responderDetail(a *responderAction) string {
	d := "(not emulated)"
	switch a.typ {
	case "respondwith", "redirect":
		d = a.typ + " " + a.expr
	case "respondwithhtmlpage":
		d = a.typ + " " + a.page
	}
	if a.status != 0 {
		d += " -responseStatusCode " + strconv.Itoa(a.status)
	}
	return d
}

func sessionDetail(a *sessionAction) string {
	var d []string
	if a.timeout > 0 {
		d = append(d, "sessTimeout "+a.timeout.String())
	}
	if a.defaultAuthz != "" {
		d = append(d, "defaultAuthorizationAction "+a.defaultAuthz)
	}
	if len(d) == 0 {
		return "(nothing authdev emulates)"
	}
	return strings.Join(d, "; ")
}

func oauthDetail(a *OAuthAction) string {
	var d []string
	add := func(k, v string) {
		if v != "" {
			d = append(d, k+" "+v)
		}
	}
	add("issuer", a.Issuer)
	add("audience", a.Audience)
	add("clientID", a.ClientID)
	add("userNameField", a.UserNameField)
	add("attributes", strings.Join(a.Attributes, ","))
	add("jwks", a.CertEndpoint)
	add("metadata", a.MetadataURL)
	if a.PKCE {
		d = append(d, "PKCE")
	}
	add("auth", a.TokenEndpointAuthMethod)
	return strings.Join(d, "; ")
}

// WriteSummary prints what was understood, as `authdev adc check` shows it:
// the file, vservers, session settings, policies in evaluation order,
// actions, rate limits, then every line not emulated (those that can change
// a decision first) and the count of lines by what authdev made of them.
func (e *Engine) WriteSummary(w io.Writer) error {
	sw := &summaryWriter{errWriter: errWriter{w: w}}
	e.writeFile(sw)
	e.writeVServers(sw)
	e.writeSession(sw)
	e.writeLoginFlow(sw)
	e.writePolicies(sw)
	e.writeActions(sw)
	e.writeWarnings(sw)
	return sw.err
}

// summaryWriter starts each section after a blank line, except the first.
type summaryWriter struct {
	errWriter
	started bool
}

func (sw *summaryWriter) section(title string) {
	if sw.started {
		sw.printf("\n")
	}
	sw.started = true
	if title != "" {
		sw.printf("%s\n", title)
	}
}

func loc(p config.Pos) string {
	if p.Line == 0 {
		return filepath.Base(p.File)
	}
	return filepath.Base(p.File) + ":" + strconv.Itoa(p.Line)
}

func (e *Engine) writeFile(sw *summaryWriter) {
	info, st := e.info, e.settings
	if info.File == "" {
		return
	}
	sw.section("")
	sw.printf("adc_config %s", info.File)
	if st.AAATM {
		sw.printf(" (sets up AAA-TM)")
	}
	sw.printf("\n")
	if len(info.Features) > 0 {
		sw.printf("features: %s\n", strings.Join(info.Features, " "))
	}
	if note := authnNote(st.Authn); note != "" {
		sw.printf("authentication back-ends: %s\n", note)
	}
}

func (e *Engine) writeVServers(sw *summaryWriter) {
	if len(e.info.VServers) == 0 {
		return
	}
	sw.section("vservers")
	for _, v := range e.info.VServers {
		sw.printf("  %s vserver %s %s %s -> %s (%s)\n", v.Type, v.Name, v.Protocol, v.Address, v.MapsTo, loc(v.Pos))
		if v.Detail != "" {
			sw.printf("    %s\n", v.Detail)
		}
	}
}

func (e *Engine) writeSession(sw *summaryWriter) {
	st := e.settings
	sw.section("session")
	sw.printf("  default authorization: %s, from %s\n", st.DefaultAuthorization, st.DefaultAuthorizationFrom)
	sw.printf("  session timeout: %s\n", st.SessionTimeout)
	if o := st.OAuth; o != nil {
		sw.printf("  OAuth action in use: %s\n", o.Name)
	}
}

// writeLoginFlow shows the nFactor flow that picks each login's
// samlAction.
func (e *Engine) writeLoginFlow(sw *summaryWriter) {
	f := e.settings.Authn.Flow
	if f == nil {
		return
	}
	sw.section("login flow (the first true policy of a factor picks its action)")
	for _, l := range f.Describe() {
		sw.printf("  %s\n", l)
	}
}

func (e *Engine) writePolicies(sw *summaryWriter) {
	for _, kind := range []string{KindContentSwitching, KindResponder, KindAuthorization, KindSession, KindRewrite} {
		var rows []BindingInfo
		for _, p := range e.info.Policies {
			if p.Kind == kind {
				rows = append(rows, p)
			}
		}
		if len(rows) == 0 {
			continue
		}
		sw.section(kind + " policies, in evaluation order")
		tw := tabwriter.NewWriter(sw, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  BOUND TO\tPRIORITY\tPOLICY\tACTION\tGOTO\tRULE\n")
		for _, p := range rows {
			prio := "-"
			if p.Priority > 0 {
				prio = strconv.Itoa(p.Priority)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", p.BoundTo, prio, p.Name, p.Action, p.Goto, p.Rule)
		}
		tw.Flush()
	}
	if len(e.info.Headers) > 0 {
		sw.section("headers inserted (authdev.yaml)")
		for _, h := range e.info.Headers {
			sw.printf("  %s: %s\n", h.Name, h.Detail)
		}
	}
}

func (e *Engine) writeActions(sw *summaryWriter) {
	info := e.info
	if len(info.Actions) > 0 {
		sw.section("actions")
		tw := tabwriter.NewWriter(sw, 0, 0, 2, ' ', 0)
		for _, a := range info.Actions {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", a.Kind, a.Name, loc(a.Pos), a.Detail)
		}
		tw.Flush()
	}
	if len(info.Limits) > 0 {
		sw.section("rate limits")
		for _, l := range info.Limits {
			per := "for all requests together"
			if len(l.Keys) > 0 {
				per = "per " + strings.Join(l.Keys, " + ") + " (selector " + l.Selector + ")"
			}
			sw.printf("  %s: %d requests per %s %s, mode %s\n", l.Name, l.Threshold, l.TimeSlice, per, l.Mode)
		}
	}
}

// writeWarnings lists the lines not emulated, those that can change a
// decision first, each reason once with every line it concerns, and ends
// with the count of lines.
func (e *Engine) writeWarnings(sw *summaryWriter) {
	for _, effect := range []Effect{EffectDecision, EffectNone} {
		var msgs []string
		lines := map[string][]string{}
		n := 0
		for _, w := range e.warnings {
			if w.Effect != effect {
				continue
			}
			n++
			if _, seen := lines[w.Msg]; !seen {
				msgs = append(msgs, w.Msg)
			}
			at := loc(w.Pos)
			if prev := lines[w.Msg]; len(prev) > 0 && w.Pos.Line > 0 {
				at = strconv.Itoa(w.Pos.Line) // the file is named once, first
			}
			lines[w.Msg] = append(lines[w.Msg], at)
		}
		if n == 0 {
			continue
		}
		sw.section(fmt.Sprintf("%s (%d)", effect, n))
		for _, m := range msgs {
			sw.printf("  %s: %s\n", strings.Join(lines[m], ","), m)
		}
	}
	if e.info.File == "" {
		return
	}
	l := e.lines
	sw.section("")
	sw.printf("%s: %s: %d emulated, %d understood but not emulated (no effect on HTTP decisions), %d not emulated and able to change a decision\n",
		e.info.File, plural(l.Total, "command line"), l.Emulated, l.Understood, l.Decision)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

// describeCS adds the cs vservers and their switches.
func (s *session) describeCS(info *Info) {
	for _, cs := range s.ns.cs {
		ent := s.e.cs[cs.name]
		if ent == nil {
			continue
		}
		var d []string
		for _, sw := range ent.switches {
			d = append(d, sw.trace.Name+" -> "+sw.target)
			info.Policies = append(info.Policies, BindingInfo{Kind: KindContentSwitching, BoundTo: "cs vserver " + cs.name,
				Priority: sw.trace.Priority, Name: sw.trace.Name, Rule: sw.trace.Rule, Action: sw.target, Goto: "END"})
		}
		if ent.fallback != "" {
			d = append(d, "default -> "+ent.fallback)
		}
		mapsTo := "the proxy"
		if s.e.front == ent {
			mapsTo += " (requests arrive here)"
		}
		info.VServers = append(info.VServers, VServerInfo{Type: "cs", Name: cs.name, Protocol: cs.proto, Address: cs.addr,
			MapsTo: mapsTo, Detail: strings.Join(d, "; "), Pos: cs.pos})
	}
}
