package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/authdev/authdev/audit"
)

// maxRequests bounds the history kept on screen; the audit file has the rest.
const maxRequests = 2000

// entry is an event in the request list, numbered so the selection
// survives filtering and the oldest entries falling off.
type entry struct {
	seq uint64
	ev  audit.Event
}

// requestList is the live request pane: newest at the bottom, following the
// newest until the user scrolls up, filtered by a substring.
type requestList struct {
	c       *common
	all     []entry
	nextSeq uint64
	filter  string
	visible []entry // all, filtered

	selSeq uint64 // the selected entry; meaningful when !follow
	follow bool
	offset int // first visible row on screen
	height int // rows available for entries
}

func newRequestList(c *common) *requestList { return &requestList{c: c, follow: true} }

func (l *requestList) title() string {
	t := "Requests"
	if l.filter != "" {
		t += fmt.Sprintf(" · filter %q · %d of %d", l.filter, len(l.visible), len(l.all))
	}
	if l.follow {
		return t + " · following"
	}
	return t + " · paused (G follows)"
}

// lines renders a column header and the visible requests for an inner
// width w, or says why there are none.
func (l *requestList) lines(w int, focused bool) []string {
	s := l.c.styles
	cols := requestColumns(w, l.visible)
	lines := []string{s.requestHeader(cols)}
	switch {
	case len(l.all) == 0:
		lines = append(lines, s.Muted.Render("no requests yet: open "+l.c.info.ProxyURL+" (o) or curl it"))
	case len(l.visible) == 0:
		lines = append(lines, s.Muted.Render("no request matches the filter (esc clears it)"))
	}
	cur := l.cursor()
	end := min(len(l.visible), l.offset+l.height)
	for i := l.offset; i < end; i++ {
		lines = append(lines, s.requestRow(l.visible[i].ev, cols, focused && i == cur))
	}
	return lines
}

func (l *requestList) pageSize() int { return max(1, l.height) }

func (l *requestList) help() []key.Binding { return []key.Binding{l.c.keys.Enter} }

// rows is whatever the body has.
func (l *requestList) rows(body int) int { return body }

func (l *requestList) setRows(n int) { l.setHeight(n - paneChrome) }

// enter opens the selected request's detail.
func (l *requestList) enter() tea.Cmd {
	e, ok := l.selected()
	if !ok {
		return nil
	}
	return openScreen(newDetailScreen(l.c, e))
}

// showsInList reports whether an event belongs in the request pane.
func showsInList(k audit.Kind) bool {
	switch k {
	case audit.KindRequest, audit.KindTokenRefused, audit.KindLogin, audit.KindLogout:
		return true
	}
	return false
}

func (l *requestList) add(evs ...audit.Event) {
	for _, e := range evs {
		if e.Kind == audit.KindRequest && l.replaceRefusal(e) {
			continue
		}
		l.nextSeq++
		en := entry{seq: l.nextSeq, ev: e}
		l.all = append(l.all, en)
		if l.matches(en.ev) {
			l.visible = append(l.visible, en)
		}
	}
	if over := len(l.all) - maxRequests; over > 0 {
		oldest := l.all[over].seq
		l.all = append([]entry(nil), l.all[over:]...)
		i := sort.Search(len(l.visible), func(i int) bool { return l.visible[i].seq >= oldest })
		l.visible = l.visible[i:]
	}
	l.settle()
}

// refusalLookback is how far back a request looks for its own refusal.
const refusalLookback = 8

// replaceRefusal puts request e in the place of the refusal the proxy
// reported for it a moment earlier, so one request is one row; the request
// keeps the refusal's reason. It reports whether it found one.
func (l *requestList) replaceRefusal(e audit.Event) bool {
	for i := len(l.all) - 1; i >= 0 && i >= len(l.all)-refusalLookback; i-- {
		r := l.all[i].ev
		if r.Kind != audit.KindTokenRefused || r.Method != e.Method || r.Path != e.Path ||
			r.ClientIP != e.ClientIP || e.Time.Sub(r.Time) > 2*time.Second || r.Time.Sub(e.Time) > 2*time.Second {
			continue
		}
		if e.Message == "" {
			e.Message = r.Message
		}
		if e.Via == "" {
			e.Via = r.Via
		}
		seq := l.all[i].seq
		l.all[i].ev = e
		j := sort.Search(len(l.visible), func(j int) bool { return l.visible[j].seq >= seq })
		switch {
		case j < len(l.visible) && l.visible[j].seq == seq && l.matches(e):
			l.visible[j].ev = e
		case j < len(l.visible) && l.visible[j].seq == seq:
			l.visible = append(l.visible[:j], l.visible[j+1:]...)
		case l.matches(e):
			l.visible = append(l.visible[:j], append([]entry{{seq: seq, ev: e}}, l.visible[j:]...)...)
		}
		return true
	}
	return false
}

func (l *requestList) setFilter(f string) {
	l.filter = strings.TrimSpace(f)
	l.visible = l.visible[:0]
	for _, en := range l.all {
		if l.matches(en.ev) {
			l.visible = append(l.visible, en)
		}
	}
	l.settle()
}

// matches is a case-insensitive substring match over what a row shows.
func (l *requestList) matches(e audit.Event) bool {
	if l.filter == "" {
		return true
	}
	hay := strings.ToLower(strings.Join([]string{e.Persona, e.User, e.Method, e.Path,
		decisionText(e), strconv.Itoa(e.Status), string(e.Kind), e.Upstream}, " "))
	return strings.Contains(hay, strings.ToLower(l.filter))
}

// cursor is the index of the selection in visible (-1 when empty).
func (l *requestList) cursor() int {
	if len(l.visible) == 0 {
		return -1
	}
	if l.follow {
		return len(l.visible) - 1
	}
	i := sort.Search(len(l.visible), func(i int) bool { return l.visible[i].seq >= l.selSeq })
	if i == len(l.visible) {
		i--
	}
	return i
}

func (l *requestList) selected() (audit.Event, bool) {
	i := l.cursor()
	if i < 0 {
		return audit.Event{}, false
	}
	return l.visible[i].ev, true
}

// moveTo selects row i; selecting the newest row resumes following.
func (l *requestList) moveTo(i int) {
	if len(l.visible) == 0 {
		return
	}
	i = max(0, min(i, len(l.visible)-1))
	l.selSeq = l.visible[i].seq
	l.follow = i == len(l.visible)-1
	l.settle()
}

func (l *requestList) move(delta int) { l.moveTo(l.cursor() + delta) }

func (l *requestList) setHeight(h int) {
	l.height = max(1, h)
	l.settle()
}

// settle keeps the selection on screen.
func (l *requestList) settle() {
	c := l.cursor()
	if l.follow || c < 0 {
		l.offset = max(0, len(l.visible)-l.height)
		return
	}
	if c < l.offset {
		l.offset = c
	}
	if c >= l.offset+l.height {
		l.offset = c - l.height + 1
	}
	l.offset = max(0, min(l.offset, len(l.visible)-l.height))
}

// columns are the widths of a request row for a pane width.
type columns struct{ time, persona, method, path, decision, status, latency int }

func requestColumns(width int, rows []entry) columns {
	c := columns{time: 8, persona: 7, method: 6, decision: 8, status: 3, latency: 7}
	for _, en := range rows {
		c.persona = max(c.persona, len(personaText(en.ev)))
		c.decision = max(c.decision, len(decisionText(en.ev)))
	}
	c.persona = min(c.persona, 12)
	c.decision = min(c.decision, 24)
	fixed := c.time + c.persona + c.method + c.decision + c.status + c.latency + 6 // gaps
	c.path = width - fixed
	// Narrow screens give up the decision's policy name before the path.
	if c.path < 12 {
		give := min(12-c.path, c.decision-8)
		c.decision -= give
		c.path += give
	}
	c.path = max(c.path, 1)
	return c
}

func (s Styles) requestHeader(c columns) string {
	return s.ColumnHead.Render(strings.Join([]string{
		pad("TIME", c.time), pad("PERSONA", c.persona), pad("METHOD", c.method),
		pad("PATH", c.path), pad("DECISION", c.decision), pad("ST", c.status),
		padLeft("LATENCY", c.latency),
	}, " "))
}

// requestRow renders one row; the selected row is drawn in reverse video.
func (s Styles) requestRow(e audit.Event, c columns, selected bool) string {
	dec := pad(decisionText(e), c.decision)
	method := pad(methodText(e), c.method)
	status := pad(statusText(e), c.status)
	cells := []string{
		pad(e.Time.Format("15:04:05"), c.time),
		pad(personaText(e), c.persona),
		method,
		pad(pathText(e), c.path),
		dec,
		status,
		padLeft(latencyText(e.Latency), c.latency),
	}
	if selected {
		return s.Selected.Render(strings.Join(cells, " "))
	}
	cells[2] = s.Method.Render(method)
	switch decisionKind(e) {
	case audit.DecisionAllow:
		cells[4] = s.Allow.Render(dec)
	case audit.DecisionDeny:
		cells[4] = s.Deny.Render(dec)
	}
	if e.Status >= 500 {
		cells[5] = s.Deny.Render(status)
	}
	return strings.Join(cells, " ")
}

func personaText(e audit.Event) string {
	switch {
	case e.Persona != "":
		return e.Persona
	case e.User != "":
		return e.User
	}
	return "-"
}

// pathText is the path, or for logins and logouts at the IdP, which have
// none, what happened.
func pathText(e audit.Event) string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path
}

func methodText(e audit.Event) string {
	switch e.Kind {
	case audit.KindLogin:
		return "LOGIN"
	case audit.KindLogout:
		return "LOGOUT"
	}
	return e.Method
}

func statusText(e audit.Event) string {
	if e.Status == 0 {
		return "-"
	}
	return strconv.Itoa(e.Status)
}

// decisionKind is the decision a row is coloured by: a refused token
// counts as denied.
func decisionKind(e audit.Event) audit.Decision {
	if e.Kind == audit.KindTokenRefused {
		return audit.DecisionDeny
	}
	return e.Decision
}

// decisionText names the decision and the policy that made it.
func decisionText(e audit.Event) string {
	switch {
	case e.Kind == audit.KindTokenRefused:
		return "refused"
	case e.Decision == "":
		return "-"
	case e.Policy == "" && e.Decision == audit.DecisionDeny:
		return "deny (default)"
	case e.Policy == "":
		return string(e.Decision)
	}
	return string(e.Decision) + " " + e.Policy
}

func latencyText(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}
