package tui

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/identity"
)

// detailContent renders everything the proxy recorded about one request:
// who, what it decided and why, and what the backend received.
func (s Styles) detailContent(e audit.Event, w int) string {
	var b strings.Builder
	title := strings.TrimSpace(methodText(e) + " " + e.Path)
	if title == "" {
		title = string(e.Kind)
	}
	b.WriteString(s.Bold.Render(title) + "\n")
	for _, f := range s.detailFields(e) {
		if f[1] == "" || ansi.Strip(f[1]) == "-" {
			continue
		}
		b.WriteString(s.kv(f[0], f[1], 10, w) + "\n")
	}
	if e.Kind != audit.KindRequest {
		// Logins, logouts and refusals pass no policy and reach no backend.
		if len(e.Claims) > 0 {
			b.WriteString("\n" + s.Section.Render("Claims") + "\n" + s.claims(e.Claims, w))
		}
		return strings.TrimRight(b.String(), "\n")
	}
	sections := []struct{ title, body string }{
		{"Policies evaluated", s.policies(e, w)},
		{"Audit messages (ns.conf)", s.messages(e, w)},
		{"Headers injected", s.injected(e, w)},
		{"Headers stripped from the request", s.stripped(e)},
		{"Claims", s.claims(e.Claims, w)},
		{"Signed assertion (decoded)", s.claims(e.Assertion, w)},
	}
	for _, sec := range sections {
		if sec.body != "" {
			b.WriteString("\n" + s.Section.Render(sec.title) + "\n" + sec.body)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// detailFields are the one-line facts of a request: label and value.
func (s Styles) detailFields(e audit.Event) [][2]string {
	who := personaText(e)
	if who == "-" {
		who = "no identity"
	}
	if e.User != "" && e.User != who {
		who += " (" + e.User + ")"
	}
	if e.Env != "" {
		who += " in " + e.Env
	}
	via := e.Via
	if e.ClientIP != "" {
		via = strings.TrimSpace(via + " from " + e.ClientIP)
	}
	upstream := e.Upstream
	if e.Target != "" {
		upstream = strings.TrimSpace(upstream + " → " + e.Target)
	}
	status := statusText(e)
	if e.Latency > 0 {
		status += " in " + latencyText(e.Latency)
	}
	dec := decisionText(e)
	switch decisionKind(e) {
	case audit.DecisionAllow:
		dec = s.Allow.Render(dec)
	case audit.DecisionDeny:
		dec = s.Deny.Render(dec)
	}
	return [][2]string{
		{"time", e.Time.Format("2006-01-02 15:04:05.000")},
		{"persona", who},
		{"via", via},
		{"upstream", upstream},
		{"decision", dec},
		{"status", status},
		{"message", e.Message},
	}
}

// policies lists the policies evaluated, or says why there were none.
func (s Styles) policies(e audit.Event, w int) string {
	switch {
	case len(e.Trace) == 0 && e.Decision == "":
		return s.Muted.Render("  none: the request was refused before any policy ran") + "\n"
	case len(e.Trace) == 0:
		return s.Muted.Render("  none: the default action decided") + "\n"
	}
	var b strings.Builder
	for _, p := range e.Trace {
		b.WriteString(s.policyLine(p, w) + "\n")
	}
	return b.String()
}

// messages are what the ns.conf's audit message actions wrote for the
// request, "" when none did.
func (s Styles) messages(e audit.Event, w int) string {
	var b strings.Builder
	for _, m := range e.Messages {
		b.WriteString(s.kv(m.Policy+":", m.Text+s.Muted.Render(" ("+m.Level+")"), 0, w) + "\n")
	}
	return b.String()
}

// stripped lists the headers the proxy removed because it owns them.
func (s Styles) stripped(e audit.Event) string {
	if len(e.HeadersStripped) == 0 {
		return s.Muted.Render("  none") + "\n"
	}
	return "  " + strings.Join(e.HeadersStripped, "\n  ") + "\n"
}

// injected lists the headers the backend received from the proxy; the
// assertion is among them, decoded further down.
func (s Styles) injected(e audit.Event, w int) string {
	headers := maps.Clone(e.HeadersInjected)
	if len(e.Assertion) > 0 {
		if headers == nil {
			headers = map[string]string{}
		}
		headers[identity.Header] = "signed " + identity.Algorithm + " JWT (decoded below)"
	}
	if len(headers) == 0 {
		return s.Muted.Render("  none") + "\n"
	}
	var b strings.Builder
	for _, k := range sortedKeys(headers) {
		b.WriteString(s.kv(k+":", headers[k], 0, w) + "\n")
	}
	return b.String()
}

// policyLine shows one policy: a mark for its outcome, its name, kind and
// action, and the rule on the next line.
func (s Styles) policyLine(p audit.PolicyResult, w int) string {
	var mark string
	switch {
	case p.Error != "":
		mark = s.Warn.Render("! error  ")
	case p.Matched:
		mark = s.Deny.Render("✓ matched")
		if strings.EqualFold(p.Action, "allow") {
			mark = s.Allow.Render("✓ matched")
		}
	default:
		mark = s.Muted.Render("· no match")
	}
	head := "  " + mark + " " + s.Bold.Render(p.Name)
	if p.Kind != "" {
		head += s.Muted.Render(" (" + p.Kind + ")")
	}
	if p.Action != "" {
		head += " → " + p.Action
	}
	if p.Priority != 0 {
		head += s.Muted.Render(fmt.Sprintf(" priority %d", p.Priority))
	}
	lines := []string{head}
	if p.Rule != "" {
		lines = append(lines, indent(ansi.Wrap(p.Rule, max(10, w-6), "&|(,"), "      "))
	}
	if p.Error != "" {
		lines = append(lines, indent(ansi.Wrap(s.Warn.Render(p.Error), max(10, w-6), ""), "      "))
	}
	return strings.Join(lines, "\n")
}

// claims lists a claim set sorted by name, with timestamps spelled out.
func (s Styles) claims(c map[string]any, w int) string {
	if len(c) == 0 {
		return s.Muted.Render("  none") + "\n"
	}
	keyW := 0
	for k := range c {
		keyW = max(keyW, len(k)+1)
	}
	keyW = min(keyW, 24)
	var b strings.Builder
	for _, k := range sortedKeys(c) {
		b.WriteString(s.kv(k+":", claimValue(k, c[k]), keyW, w) + "\n")
	}
	return b.String()
}

// kv renders "  key value", wrapping the value under itself.
func (s Styles) kv(k, v string, keyW, w int) string {
	keyW = max(keyW, ansi.StringWidth(k))
	valW := max(10, w-keyW-3)
	lines := strings.Split(ansi.Wrap(v, valW, " ,/"), "\n")
	for i := range lines {
		if i == 0 {
			lines[i] = "  " + s.Key.Render(pad(k, keyW)) + " " + lines[i]
		} else {
			lines[i] = strings.Repeat(" ", keyW+3) + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

func claimValue(name string, v any) string {
	switch name {
	case "exp", "iat", "nbf", "auth_time":
		if sec, ok := unixSeconds(v); ok {
			return fmt.Sprintf("%d (%s)", sec, time.Unix(sec, 0).UTC().Format(time.RFC3339))
		}
	}
	if str, ok := v.(string); ok {
		return str
	}
	out, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(out)
}

// unixSeconds reads a NumericDate however the claims were decoded.
func unixSeconds(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
