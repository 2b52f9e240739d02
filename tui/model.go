package tui

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/authdev/authdev/audit"
)

// refreshEvery is how often the header re-reads health and the persona pane
// re-reads the active persona (another terminal may run `authdev as`).
const refreshEvery = 2 * time.Second

// infoExpiry is how long an informational status stays; warnings and
// errors stay until something replaces them.
const infoExpiry = 10 * time.Second

// The smallest window the layout works in.
const minWidth, minHeight = 40, 10

type screen int

const (
	screenMain screen = iota
	screenDetail
	screenToken
	screenHelp
)

type pane int

const (
	panePersonas pane = iota
	paneRequests
)

// Messages.
type (
	subscribedMsg struct{ events <-chan audit.Event }
	eventsMsg     struct {
		events []audit.Event
		ended  bool // the stack closed the subscription
	}
	tickMsg   struct{}
	actionMsg struct {
		text string
		err  error
	}
	tokenMsg struct {
		persona, env, token string
		err                 error
	}
)

type status struct {
	text  string
	level string // info | warn | error
	at    time.Time
}

// subscription is shared by every copy of the model so that Close ends it
// however the program stopped; done also wakes sleeping commands so no
// goroutine outlives the program.
type subscription struct {
	mu     sync.Mutex
	cancel func()
	closed bool
	done   chan struct{}
}

func (s *subscription) start(stack Stack) <-chan audit.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.cancel != nil {
		return nil
	}
	events, cancel := stack.Subscribe()
	s.cancel = cancel
	return events
}

func (s *subscription) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	close(s.done)
	if s.cancel != nil {
		s.cancel()
	}
}

// Model is the bubbletea model of the TUI. Build it with New; Run wires it
// to a terminal.
type Model struct {
	stack  Stack
	opts   Options
	keys   KeyMap
	styles Styles
	help   help.Model
	width  int
	height int

	info     Info
	envs     []string
	env      string
	personas personaList
	requests requestList

	screen    screen
	focus     pane
	filtering bool
	filter    textinput.Model

	detail   audit.Event
	token    tokenState
	scroll   viewport.Model
	status   status
	events   <-chan audit.Event
	sub      *subscription
	quitting bool
}

// New builds the model for stack and reads its current state.
func New(stack Stack, opts Options) *Model {
	opts = opts.withDefaults()
	m := &Model{
		stack:    stack,
		opts:     opts,
		keys:     DefaultKeyMap(),
		styles:   NewStyles(true),
		help:     help.New(),
		requests: newRequestList(),
		sub:      &subscription{done: make(chan struct{})},
		scroll:   viewport.New(),
	}
	m.help.Styles = m.styles.Help
	m.filter = textinput.New()
	m.filter.SetStyles(m.styles.Filter)
	m.filter.Prompt = "/"
	m.filter.Placeholder = "persona, path, method, status or policy"
	m.refresh()
	m.width, m.height = opts.Width, opts.Height
	m.layout()
	return m
}

// Close ends the event subscription. Run calls it; tests that call Init
// must too.
func (m *Model) Close() { m.sub.close() }

// Init subscribes to the stack's events, asks the terminal for its
// background colour and starts the health refresh.
func (m *Model) Init() tea.Cmd {
	stack, sub := m.stack, m.sub
	return tea.Batch(
		func() tea.Msg {
			if ch := sub.start(stack); ch != nil {
				return subscribedMsg{events: ch}
			}
			return nil
		},
		tea.RequestBackgroundColor,
		m.tick(),
	)
}

// listen waits for the next events, taking whatever else is already queued
// so a burst of requests costs one frame.
func listen(ch <-chan audit.Event) tea.Cmd {
	return func() tea.Msg {
		e, ok := <-ch
		if !ok {
			return eventsMsg{ended: true}
		}
		batch := []audit.Event{e}
		for len(batch) < 256 {
			select {
			case e, ok := <-ch:
				if !ok {
					return eventsMsg{events: batch, ended: true}
				}
				batch = append(batch, e)
			default:
				return eventsMsg{events: batch}
			}
		}
		return eventsMsg{events: batch}
	}
}

func (m *Model) tick() tea.Cmd {
	done := m.sub.done
	return func() tea.Msg {
		t := time.NewTimer(refreshEvery)
		defer t.Stop()
		select {
		case <-t.C:
			return tickMsg{}
		case <-done:
			return nil
		}
	}
}

// refresh re-reads the stack. The Stack's getters are in-memory reads, so
// they run on the UI loop.
func (m *Model) refresh() {
	m.info = m.stack.Info()
	m.envs = m.stack.Environments()
	active, env := m.stack.Active()
	m.env = env
	m.personas.set(m.stack.Personas(env), active)
}

func (m *Model) setStatus(level, text string) {
	m.status = status{text: text, level: level, at: m.opts.Now()}
}

// Update handles one message, then lays the screen out again: almost every
// message can change how much room something needs.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.layout()
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return nil
	case tea.BackgroundColorMsg:
		m.styles = NewStyles(msg.IsDark())
		m.help.Styles = m.styles.Help
		m.filter.SetStyles(m.styles.Filter)
		return nil
	case subscribedMsg:
		m.events = msg.events
		return listen(m.events)
	case eventsMsg:
		m.handleEvents(msg.events)
		if msg.ended || m.events == nil {
			m.events = nil
			return nil
		}
		return listen(m.events)
	case tickMsg:
		m.refresh()
		if m.status.level == "info" && m.opts.Now().Sub(m.status.at) >= infoExpiry {
			m.status = status{}
		}
		return m.tick()
	case actionMsg:
		if msg.err != nil {
			m.setStatus("error", msg.err.Error())
		} else {
			m.setStatus("info", msg.text)
		}
		m.refresh()
		return nil
	case tokenMsg:
		if m.screen == screenToken && msg.persona == m.token.persona && msg.env == m.token.env {
			m.token.loading = false
			m.token.token, m.token.err = msg.token, msg.err
			if msg.err == nil {
				m.token.header, m.token.claims, m.token.err = decodeToken(msg.token)
			}
		}
		return nil
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	}
	if m.filtering {
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		return cmd
	}
	return nil
}

func (m *Model) handleEvents(evs []audit.Event) {
	var rows []audit.Event
	notice := false
	for _, e := range evs {
		switch {
		case e.Kind == audit.KindNotice:
			level := e.Level
			if level == "" {
				level = "info"
			}
			m.setStatus(level, e.Message)
			notice = true
		case showsInList(e.Kind):
			rows = append(rows, e)
		}
	}
	if len(rows) > 0 {
		m.requests.add(rows...)
	}
	if notice {
		// Notices announce changes: a persona switched elsewhere, a config
		// reload, an upstream going down.
		m.refresh()
	}
}

func (m *Model) quit() tea.Cmd {
	m.quitting = true
	m.Close()
	return tea.Quit
}

func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	if msg.String() == "ctrl+c" {
		return m.quit()
	}
	if m.filtering {
		return m.handleFilterKey(msg)
	}
	switch m.screen {
	case screenHelp:
		switch {
		case key.Matches(msg, m.keys.Quit):
			return m.quit()
		case key.Matches(msg, m.keys.Help, m.keys.Back):
			m.screen = screenMain
		}
		return nil
	case screenDetail, screenToken:
		switch {
		case key.Matches(msg, m.keys.Quit):
			return m.quit()
		case key.Matches(msg, m.keys.Back),
			m.screen == screenToken && key.Matches(msg, m.keys.Token):
			m.screen = screenMain
			return nil
		case m.screen == screenToken && key.Matches(msg, m.keys.Copy):
			return m.copyToken()
		case key.Matches(msg, m.keys.Help):
			m.screen = screenHelp
			return nil
		case key.Matches(msg, m.keys.Top):
			m.scroll.GotoTop()
			return nil
		case key.Matches(msg, m.keys.Bottom):
			m.scroll.GotoBottom()
			return nil
		}
		var cmd tea.Cmd
		m.scroll, cmd = m.scroll.Update(msg)
		return cmd
	}
	return m.handleMainKey(msg)
}

func (m *Model) handleFilterKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "enter":
		m.filtering = false
		m.filter.Blur()
		return nil
	case "esc":
		m.filtering = false
		m.filter.Blur()
		m.filter.SetValue("")
		m.requests.setFilter("")
		return nil
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	m.requests.setFilter(m.filter.Value())
	return cmd
}

func (m *Model) handleMainKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.screen = screenHelp
	case key.Matches(msg, k.Tab):
		m.focus = 1 - m.focus
	case key.Matches(msg, k.Up):
		m.moveFocused(-1)
	case key.Matches(msg, k.Down):
		m.moveFocused(1)
	case key.Matches(msg, k.PageUp):
		m.moveFocused(-m.pageSize())
	case key.Matches(msg, k.PageDown):
		m.moveFocused(m.pageSize())
	case key.Matches(msg, k.Top):
		m.moveFocused(-len(m.requests.all) - len(m.personas.items))
	case key.Matches(msg, k.Bottom):
		m.moveFocused(len(m.requests.all) + len(m.personas.items))
	case key.Matches(msg, k.Enter):
		return m.enter()
	case key.Matches(msg, k.Back):
		if m.requests.filter != "" {
			m.filter.SetValue("")
			m.requests.setFilter("")
		}
	case key.Matches(msg, k.NextEnv):
		return m.switchEnv(1)
	case key.Matches(msg, k.PrevEnv):
		return m.switchEnv(-1)
	case key.Matches(msg, k.Token):
		return m.openToken()
	case key.Matches(msg, k.Open):
		return m.openBrowser()
	case key.Matches(msg, k.Rotate):
		return m.rotate()
	case key.Matches(msg, k.Filter):
		m.focus = paneRequests
		m.filtering = true
		m.filter.SetValue(m.requests.filter)
		m.filter.CursorEnd()
		return m.filter.Focus()
	}
	return nil
}

func (m *Model) pageSize() int {
	if m.focus == panePersonas {
		return max(1, m.personas.height)
	}
	return max(1, m.requests.height)
}

func (m *Model) moveFocused(delta int) {
	if m.focus == panePersonas {
		m.personas.move(delta)
		return
	}
	m.requests.move(delta)
}

// enter activates the persona under the cursor or opens the selected
// request.
func (m *Model) enter() tea.Cmd {
	if m.focus == paneRequests {
		e, ok := m.requests.selected()
		if !ok {
			return nil
		}
		m.detail = e
		m.screen = screenDetail
		m.fillScroll()
		m.scroll.GotoTop()
		return nil
	}
	p, ok := m.personas.selected()
	if !ok {
		return nil
	}
	// Shown at once so that keys pressed before the stack answers act on
	// the new state; the answer's refresh corrects it on failure.
	m.personas.active = p.ID
	stack := m.stack
	return func() tea.Msg {
		if err := stack.Activate(p.ID); err != nil {
			return actionMsg{err: fmt.Errorf("activate %q: %w", p.ID, err)}
		}
		return actionMsg{text: fmt.Sprintf("%s is now the active persona: browser logins sign in as %s", p.ID, p.ID)}
	}
}

func (m *Model) switchEnv(delta int) tea.Cmd {
	if len(m.envs) < 2 {
		m.setStatus("warn", "only one environment: add more under environments: in authdev.yaml")
		return nil
	}
	at := 0
	for i, e := range m.envs {
		if e == m.env {
			at = i
		}
	}
	next := m.envs[(at+delta+len(m.envs))%len(m.envs)]
	// As with personas: the next e must step on from here, not from where
	// the stack was when the key arrived.
	m.env = next
	m.personas.set(m.stack.Personas(next), m.personas.active)
	stack := m.stack
	return func() tea.Msg {
		if err := stack.SetEnvironment(next); err != nil {
			return actionMsg{err: fmt.Errorf("switch to environment %q: %w", next, err)}
		}
		return actionMsg{text: "environment " + next}
	}
}

// openToken shows the active persona's token, or the one under the cursor
// when logins show the picker.
func (m *Model) openToken() tea.Cmd {
	persona := m.personas.active
	if persona == "" {
		p, ok := m.personas.selected()
		if !ok {
			m.setStatus("error", "no persona to get a token for: add one under personas: in authdev.yaml")
			return nil
		}
		persona = p.ID
	}
	env := m.env
	m.token = tokenState{persona: persona, env: env, loading: true}
	m.screen = screenToken
	m.fillScroll()
	m.scroll.GotoTop()
	stack := m.stack
	return func() tea.Msg {
		tok, err := stack.Token(persona, env)
		if err != nil {
			err = fmt.Errorf("get a token for %q in %q: %w", persona, env, err)
		}
		return tokenMsg{persona: persona, env: env, token: tok, err: err}
	}
}

func (m *Model) copyToken() tea.Cmd {
	if m.token.token == "" {
		m.setStatus("warn", "no token to copy yet")
		return nil
	}
	m.setStatus("info", fmt.Sprintf("copied the access token of %s to the clipboard (OSC 52)", m.token.persona))
	return tea.SetClipboard(m.token.token)
}

func (m *Model) openBrowser() tea.Cmd {
	url := m.info.ProxyURL
	if url == "" {
		m.setStatus("error", "the proxy has no URL yet")
		return nil
	}
	open := m.opts.OpenURL
	return func() tea.Msg {
		if err := open(url); err != nil {
			return actionMsg{err: fmt.Errorf("no browser could be opened (%v): open %s yourself", err, url)}
		}
		return actionMsg{text: "opened " + url}
	}
}

func (m *Model) rotate() tea.Cmd {
	env, stack := m.env, m.stack
	return func() tea.Msg {
		if err := stack.RotateKeys(env); err != nil {
			return actionMsg{err: fmt.Errorf("rotate the signing keys of %q: %w", env, err)}
		}
		return actionMsg{text: "rotated the signing keys of " + env + ": new tokens use the new key, old ones stay valid until they expire"}
	}
}

// layout sizes the panes for the window; everything that depends on the
// size is recomputed here.
func (m *Model) layout() {
	if m.width <= 0 || m.height <= 0 {
		return
	}
	m.help.SetWidth(m.width)
	m.filter.SetWidth(max(10, m.width-2))
	personasH, requestsH := m.paneHeights()
	m.personas.setHeight(personasH - 3)
	m.requests.setHeight(requestsH - 3)
	m.fillScroll()
}

func (m *Model) headerLines() []string {
	return m.styles.headerLines(m.info, m.envs, m.env, m.width)
}

// paneHeights splits the body between personas (as many rows as there are
// personas, up to two fifths) and requests (the rest). Each pane has a
// border and a column header.
func (m *Model) paneHeights() (personas, requests int) {
	body := m.bodyHeight()
	personas = min(len(m.personas.items)+3, max(4, body*2/5))
	personas = max(4, personas)
	return personas, max(4, body-personas)
}

// fillScroll renders the detail or token screen into the scrolling view.
func (m *Model) fillScroll() {
	if m.width <= 0 {
		return
	}
	w := m.width - 2
	m.scroll.SetWidth(m.width)
	m.scroll.SetHeight(max(1, m.bodyHeight()))
	switch m.screen {
	case screenDetail:
		m.scroll.SetContent(indent(m.styles.detailContent(m.detail, w), " "))
	case screenToken:
		m.scroll.SetContent(indent(m.styles.tokenContent(m.token, w), " "))
	}
}

// View draws the whole screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "authdev · " + m.env
	return v
}

func (m *Model) render() string {
	if m.quitting || m.width <= 0 || m.height <= 0 {
		return ""
	}
	if m.width < minWidth || m.height < minHeight {
		return fit(ansi.Wrap(fmt.Sprintf("authdev: make the window at least %d×%d (it is %d×%d)",
			minWidth, minHeight, m.width, m.height), m.width, " "), m.width, m.height)
	}
	header := m.headerLines()
	var body string
	bodyH := m.bodyHeight()
	switch m.screen {
	case screenHelp:
		body = m.helpScreen()
	case screenDetail, screenToken:
		body = m.scroll.View()
	default:
		pH, rH := m.paneHeights()
		body = m.personasPane(pH) + "\n" + m.requestsPane(rH)
	}
	out := strings.Join(header, "\n") + "\n" + fit(body, m.width, bodyH) + "\n" +
		strings.Join(m.statusLines(), "\n") + "\n" + m.footer()
	return fit(out, m.width, m.height)
}

func (m *Model) personasPane(h int) string {
	title := "Personas in " + m.env
	if m.personas.active == "" {
		title += " · no active persona: logins show the picker"
	}
	focused := m.focus == panePersonas
	return m.styles.box(title, m.personas.lines(m.styles, m.env, m.width-2, focused), m.width, h, focused)
}

func (m *Model) requestsPane(h int) string {
	l := &m.requests
	title := "Requests"
	if l.filter != "" {
		title += fmt.Sprintf(" · filter %q · %d of %d", l.filter, len(l.visible), len(l.all))
	}
	if l.follow {
		title += " · following"
	} else {
		title += " · paused (G follows)"
	}
	inner := m.width - 2
	cols := requestColumns(inner, l.visible)
	lines := []string{m.styles.requestHeader(cols)}
	switch {
	case len(l.all) == 0:
		lines = append(lines, m.styles.Muted.Render("no requests yet: open "+m.info.ProxyURL+" (o) or curl it"))
	case len(l.visible) == 0:
		lines = append(lines, m.styles.Muted.Render("no request matches the filter (esc clears it)"))
	}
	focused := m.focus == paneRequests
	cur := l.cursor()
	end := min(len(l.visible), l.offset+l.height)
	for i := l.offset; i < end; i++ {
		lines = append(lines, m.styles.requestRow(l.visible[i].ev, cols, focused && i == cur))
	}
	return m.styles.box(title, lines, m.width, h, focused)
}

func (m *Model) helpScreen() string {
	title := m.styles.Bold.Render("Keys") + m.styles.Muted.Render("  (? or esc closes)")
	return " " + title + "\n\n" + indent(m.help.FullHelpView(m.keys.fullHelp().full), " ")
}

// bodyHeight is what the header, the status and the footer leave.
func (m *Model) bodyHeight() int {
	return m.height - len(m.headerLines()) - len(m.statusLines()) - 1
}

// maxStatusLines bounds how much room a long error may take.
const maxStatusLines = 3

// statusLines show the latest notice or the outcome of the last action,
// marked by level so it reads without colour. Warnings and errors wrap, so
// the file:line of a broken config is never cut off.
func (m *Model) statusLines() []string {
	if m.filtering {
		return []string{m.filter.View()}
	}
	s := m.status
	var text string
	var style = m.styles.Info
	switch s.level {
	case "":
		return []string{m.styles.Muted.Render(" ready · " + m.activeText())}
	case "error":
		text, style = "✗ "+s.text, m.styles.Error
	case "warn":
		text, style = "! "+s.text, m.styles.Warn
	default:
		return []string{style.Render(ansi.Truncate("• "+s.text, m.width, "…"))}
	}
	lines := strings.Split(ansi.Wrap(text, m.width, " "), "\n")
	if len(lines) > maxStatusLines {
		lines = lines[:maxStatusLines]
		lines[maxStatusLines-1] = ansi.Truncate(lines[maxStatusLines-1], m.width-1, "") + "…"
	}
	for i := range lines {
		lines[i] = style.Render(lines[i])
	}
	return lines
}

func (m *Model) activeText() string {
	if m.personas.active == "" {
		return "no active persona in " + m.env
	}
	return m.personas.active + " active in " + m.env
}

func (m *Model) footer() string {
	var keys helpKeys
	switch {
	case m.filtering:
		keys = m.keys.filterHelp()
	case m.screen == screenDetail:
		keys = m.keys.detailHelp()
	case m.screen == screenToken:
		keys = m.keys.tokenHelp()
	case m.screen == screenHelp:
		keys = helpKeys{short: []key.Binding{m.keys.Back, m.keys.Quit}}
	default:
		keys = m.keys.mainHelp()
	}
	out := m.help.ShortHelpView(keys.short)
	if (m.screen == screenDetail || m.screen == screenToken) && m.scroll.TotalLineCount() > m.scroll.Height() {
		out = m.styles.Muted.Render(fmt.Sprintf("%3.f%% ", m.scroll.ScrollPercent()*100)) + out
	}
	return out
}
