package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// layout sizes the panes and the screen for the window; everything that
// depends on the size is recomputed here.
func (m *Model) layout() {
	if m.width <= 0 || m.height <= 0 {
		return
	}
	m.help.SetWidth(m.width)
	m.filter.SetWidth(max(10, m.width-2))
	for i, h := range m.paneHeights() {
		m.panes[i].setRows(h)
	}
	if m.screen != nil {
		m.screen.resize(m.width, max(1, m.bodyHeight()))
	}
}

func (m *Model) headerLines() []string {
	return m.styles.headerLines(m.info, m.envs, m.env, m.width)
}

// paneHeights splits the body between the panes top to bottom: each takes
// the rows it asks for, the last what is left. Each has at least a border,
// a column header and a row.
func (m *Model) paneHeights() []int {
	body := m.bodyHeight()
	hs := make([]int, len(m.panes))
	left := body
	for i, p := range m.panes {
		if i == len(m.panes)-1 {
			hs[i] = max(4, left)
			break
		}
		hs[i] = p.rows(body)
		left -= hs[i]
	}
	return hs
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
	var body string
	if m.screen != nil {
		body = m.screen.view()
	} else {
		boxes := make([]string, len(m.panes))
		for i, h := range m.paneHeights() {
			p := m.panes[i]
			boxes[i] = m.styles.box(p.title(), p.lines(m.width-2, i == m.focus), m.width, h, i == m.focus)
		}
		body = strings.Join(boxes, "\n")
	}
	out := strings.Join(m.headerLines(), "\n") + "\n" + fit(body, m.width, m.bodyHeight()) + "\n" +
		strings.Join(m.statusLines(), "\n") + "\n" + m.footer()
	return fit(out, m.width, m.height)
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
	style := m.styles.Info
	switch s.level {
	case levelNone:
		return []string{m.styles.Muted.Render(" ready · " + m.activeText())}
	case levelError:
		text, style = "✗ "+s.text, m.styles.Error
	case levelWarn:
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

// footer is the key help of what has the keys: the filter, the screen, or
// the focused pane and the keys that work everywhere.
func (m *Model) footer() string {
	switch {
	case m.filtering:
		return m.help.ShortHelpView(m.keys.filterHelp().short)
	case m.screen != nil:
		return m.screen.footer(&m.help)
	}
	k := m.keys
	keys := append(m.panes[m.focus].help(), k.Tab, k.NextEnv, k.Token, k.Filter, k.Help, k.Quit)
	return m.help.ShortHelpView(keys)
}
