package tui

import (
	"sync"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

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
	statusMsg status
)

// level is how much a status line matters: info fades, warnings and
// errors stay until replaced.
type level int

const (
	levelNone level = iota // nothing to say: the line shows who is active
	levelInfo
	levelWarn
	levelError
)

// noticeLevel reads the level of a notice as the stack spells it.
func noticeLevel(s string) level {
	switch s {
	case "warn":
		return levelWarn
	case "error":
		return levelError
	}
	return levelInfo
}

type status struct {
	text  string
	level level
	at    time.Time
}

// showStatus is a command that shows text at level.
func showStatus(l level, text string) tea.Cmd {
	return func() tea.Msg { return statusMsg{level: l, text: text} }
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

// Model is the bubbletea model of the TUI: it routes messages to the
// panes and the screen over them. Build it with New; Run wires it to a
// terminal.
type Model struct {
	*common
	opts   Options
	help   help.Model
	width  int
	height int

	panes    []pane
	focus    int // index in panes
	personas *personaList
	requests *requestList
	// screen covers the panes when not nil.
	screen    screen
	filtering bool
	filter    textinput.Model

	status   status
	drills   int // presses of the drill key so far
	events   <-chan audit.Event
	sub      *subscription
	quitting bool
}

// New builds the model for stack and reads its current state.
func New(stack Stack, opts Options) *Model {
	opts = opts.withDefaults()
	c := &common{stack: stack, keys: DefaultKeyMap(), styles: NewStyles(true)}
	m := &Model{
		common:   c,
		opts:     opts,
		help:     help.New(),
		personas: &personaList{c: c},
		requests: newRequestList(c),
		sub:      &subscription{done: make(chan struct{})},
	}
	m.panes = []pane{panePersonas: m.personas, paneRequests: m.requests}
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

func (m *Model) setStatus(l level, text string) {
	m.status = status{text: text, level: l, at: m.opts.Now()}
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
	case tea.BackgroundColorMsg:
		m.styles = NewStyles(msg.IsDark())
		m.help.Styles = m.styles.Help
		m.filter.SetStyles(m.styles.Filter)
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
		if m.status.level == levelInfo && m.opts.Now().Sub(m.status.at) >= infoExpiry {
			m.status = status{}
		}
		return m.tick()
	case actionMsg:
		if msg.err != nil {
			m.setStatus(levelError, msg.err.Error())
		} else {
			m.setStatus(levelInfo, msg.text)
		}
		m.refresh()
	case statusMsg:
		m.setStatus(msg.level, msg.text)
	case openScreenMsg:
		m.screen = msg.s
	case tokenMsg:
		if t, ok := m.screen.(*tokenScreen); ok {
			t.answer(msg)
		}
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	default:
		if m.filtering {
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(msg)
			return cmd
		}
	}
	return nil
}

func (m *Model) handleEvents(evs []audit.Event) {
	var rows []audit.Event
	notice := false
	for _, e := range evs {
		switch {
		case e.Kind == audit.KindNotice:
			m.setStatus(noticeLevel(e.Level), e.Message)
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

// handleKey gives quit to everyone, typing to the filter, and the rest to
// the screen over the panes or, without one, to the main screen.
func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	if msg.String() == "ctrl+c" {
		return m.quit()
	}
	if m.filtering {
		return m.handleFilterKey(msg)
	}
	if m.screen == nil {
		return m.handleMainKey(msg)
	}
	_, onHelp := m.screen.(*helpScreen)
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m.quit()
	case key.Matches(msg, m.keys.Back), onHelp && key.Matches(msg, m.keys.Help):
		m.screen = nil
	case key.Matches(msg, m.keys.Help):
		m.screen = &helpScreen{c: m.common, help: &m.help}
	default:
		cmd, done := m.screen.key(msg)
		if done {
			m.screen = nil
		}
		return cmd
	}
	return nil
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

// farAway is a move that reaches either end of any pane.
const farAway = 1 << 30

func (m *Model) handleMainKey(msg tea.KeyPressMsg) tea.Cmd {
	k, focused := m.keys, m.panes[m.focus]
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.screen = &helpScreen{c: m.common, help: &m.help}
	case key.Matches(msg, k.Tab):
		step := 1
		if msg.String() == "shift+tab" {
			step = len(m.panes) - 1
		}
		m.focus = (m.focus + step) % len(m.panes)
	case key.Matches(msg, k.Up):
		focused.move(-1)
	case key.Matches(msg, k.Down):
		focused.move(1)
	case key.Matches(msg, k.PageUp):
		focused.move(-focused.pageSize())
	case key.Matches(msg, k.PageDown):
		focused.move(focused.pageSize())
	case key.Matches(msg, k.Top):
		focused.move(-farAway)
	case key.Matches(msg, k.Bottom):
		focused.move(farAway)
	case key.Matches(msg, k.Enter):
		return focused.enter()
	case key.Matches(msg, k.Back):
		m.clearFilter()
	default:
		return m.handleActionKey(msg)
	}
	return nil
}

// handleActionKey takes the keys that act on the stack or the filter
// whatever pane has focus.
func (m *Model) handleActionKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch {
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
	case key.Matches(msg, k.Drill):
		return m.drill()
	case key.Matches(msg, k.Filter):
		m.focus = paneRequests
		m.filtering = true
		m.filter.SetValue(m.requests.filter)
		m.filter.CursorEnd()
		return m.filter.Focus()
	}
	return nil
}

func (m *Model) clearFilter() {
	if m.requests.filter != "" {
		m.filter.SetValue("")
		m.requests.setFilter("")
	}
}
