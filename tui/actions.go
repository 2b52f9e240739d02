package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"
)

func (m *Model) switchEnv(delta int) tea.Cmd {
	if len(m.envs) < 2 {
		m.setStatus(levelWarn, "only one environment: add more under environments: in authdev.yaml")
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
			m.setStatus(levelError, "no persona to get a token for: add one under personas: in authdev.yaml")
			return nil
		}
		persona = p.ID
	}
	env := m.env
	m.screen = newTokenScreen(m.common, persona, env)
	stack := m.stack
	return func() tea.Msg {
		tok, err := stack.Token(persona, env)
		if err != nil {
			err = fmt.Errorf("get a token for %q in %q: %w", persona, env, err)
		}
		return tokenMsg{persona: persona, env: env, token: tok, err: err}
	}
}

func (m *Model) openBrowser() tea.Cmd {
	url := m.info.ProxyURL
	if url == "" {
		m.setStatus(levelError, "the proxy has no URL yet")
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

// drill runs the next failure drill of DrillSequence.
func (m *Model) drill() tea.Cmd {
	name, stack := DrillSequence[m.drills%len(DrillSequence)], m.stack
	m.drills++
	return func() tea.Msg {
		done, err := stack.Drill(name)
		if err != nil {
			return actionMsg{err: fmt.Errorf("drill %s: %w", name, err)}
		}
		return actionMsg{text: "drill " + name + ": " + done}
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
