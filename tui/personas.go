package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// personaList is the persona pane: the stack's personas in config order,
// a cursor, and which one is active.
type personaList struct {
	c      *common
	items  []Persona
	active string
	cursor int
	offset int
	height int
}

// set replaces the personas, keeping the cursor on the same persona.
func (p *personaList) set(items []Persona, active string) {
	cur := ""
	if p.cursor < len(p.items) {
		cur = p.items[p.cursor].ID
	}
	first := p.items == nil
	p.items, p.active = items, active
	p.cursor = 0
	want := cur
	if first {
		// At start the cursor sits on the active persona.
		want = active
	}
	for i, it := range items {
		if it.ID == want {
			p.cursor = i
		}
	}
	p.settle()
}

func (p *personaList) move(delta int) {
	if len(p.items) == 0 {
		return
	}
	p.cursor = max(0, min(p.cursor+delta, len(p.items)-1))
	p.settle()
}

func (p *personaList) selected() (Persona, bool) {
	if p.cursor >= len(p.items) {
		return Persona{}, false
	}
	return p.items[p.cursor], true
}

func (p *personaList) setHeight(h int) {
	p.height = max(1, h)
	p.settle()
}

func (p *personaList) settle() {
	if p.cursor < p.offset {
		p.offset = p.cursor
	}
	if p.cursor >= p.offset+p.height {
		p.offset = p.cursor - p.height + 1
	}
	p.offset = max(0, min(p.offset, len(p.items)-p.height))
}

func (p *personaList) title() string {
	t := "Personas in " + p.c.env
	if p.active == "" {
		t += " · no active persona: logins show the picker"
	}
	return t
}

func (p *personaList) pageSize() int { return max(1, p.height) }

func (p *personaList) help() []key.Binding { return []key.Binding{p.c.keys.Enter} }

// rows is a row per persona, up to two fifths of the body.
func (p *personaList) rows(body int) int {
	return max(4, min(len(p.items)+paneChrome, max(4, body*2/5)))
}

func (p *personaList) setRows(n int) { p.setHeight(n - paneChrome) }

// enter activates the persona under the cursor.
func (p *personaList) enter() tea.Cmd {
	sel, ok := p.selected()
	if !ok {
		return nil
	}
	// Shown at once so that keys pressed before the stack answers act on
	// the new state; the answer's refresh corrects it on failure.
	p.active = sel.ID
	stack := p.c.stack
	return func() tea.Msg {
		if err := stack.Activate(sel.ID); err != nil {
			return actionMsg{err: fmt.Errorf("activate %q: %w", sel.ID, err)}
		}
		return actionMsg{text: fmt.Sprintf("%s is now the active persona: browser logins sign in as %s", sel.ID, sel.ID)}
	}
}

// lines renders a column header and the visible personas for an inner
// width w.
func (p *personaList) lines(w int, focused bool) []string {
	s, env := p.c.styles, p.c.env
	if len(p.items) == 0 {
		return []string{s.Muted.Render("no personas in this environment")}
	}
	idW, nameW, emailW := 2, 4, 5
	for _, it := range p.items {
		idW = max(idW, len(it.ID))
		nameW = max(nameW, len(it.Name))
		emailW = max(emailW, len(it.Email))
	}
	idW, nameW, emailW = min(idW, 14), min(nameW, 22), min(emailW, 30)
	rolesW := w - 2 - idW - nameW - emailW - 3
	// Roles matter more than the email on a narrow screen.
	if rolesW < 16 {
		give := min(16-rolesW, emailW-8)
		emailW -= give
		rolesW += give
	}
	out := []string{s.ColumnHead.Render("  " + strings.Join([]string{pad("ID", idW), pad("NAME", nameW),
		pad("EMAIL", emailW), pad("ROLES IN "+strings.ToUpper(env), rolesW)}, " "))}
	end := min(len(p.items), p.offset+p.height)
	for i := p.offset; i < end; i++ {
		it := p.items[i]
		mark := "  "
		if it.ID == p.active {
			mark = "● "
		}
		roles := strings.Join(it.Roles, ", ")
		if roles == "" {
			roles = "no roles"
		}
		cells := []string{pad(it.ID, idW), pad(it.Name, nameW), pad(it.Email, emailW), pad(roles, rolesW)}
		switch {
		case focused && i == p.cursor:
			out = append(out, s.Selected.Render(mark+strings.Join(cells, " ")))
		case it.ID == p.active:
			out = append(out, s.Active.Render(mark+strings.Join(cells, " ")))
		default:
			if len(it.Roles) == 0 {
				cells[3] = s.Muted.Render(cells[3])
			}
			out = append(out, mark+strings.Join(cells, " "))
		}
	}
	return out
}
