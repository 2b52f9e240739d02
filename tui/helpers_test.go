package tui

import (
	"fmt"
	"image/color"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

// press builds the key press a terminal would deliver for s, written as
// bubbletea spells keys ("enter", "ctrl+c", "E", "/").
func press(s string) tea.KeyPressMsg {
	named := map[string]rune{
		"enter": tea.KeyEnter, "esc": tea.KeyEscape, "tab": tea.KeyTab, "up": tea.KeyUp,
		"down": tea.KeyDown, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown, "home": tea.KeyHome,
		"end": tea.KeyEnd, "backspace": tea.KeyBackspace,
	}
	if c, ok := named[s]; ok {
		return tea.KeyPressMsg{Code: c}
	}
	switch s {
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	}
	r, _ := utf8.DecodeRuneInString(s)
	k := tea.KeyPressMsg{Code: r, Text: s}
	if lower := strings.ToLower(s); lower != s {
		k.Code, _ = utf8.DecodeRuneInString(lower)
		k.ShiftedCode, k.Mod = r, tea.ModShift
	}
	return k
}

// keys turns "j j enter" into key presses.
func keys(s string) []tea.Msg {
	var out []tea.Msg
	for _, f := range strings.Fields(s) {
		out = append(out, press(f))
	}
	return out
}

// typed is the key presses for typing text.
func typed(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return out
}

// drive sends msgs to m and runs every command they return, feeding the
// commands' messages back in, as the bubbletea event loop would. It returns
// the messages meant for the program rather than the model (quit,
// clipboard). The model must not be subscribed: drive never waits.
func drive(t *testing.T, m *Model, msgs ...tea.Msg) []tea.Msg {
	t.Helper()
	var forProgram []tea.Msg
	queue := append([]tea.Msg(nil), msgs...)
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 1000 {
			t.Fatal("the model keeps producing messages: a command loops")
		}
		msg := queue[0]
		queue = queue[1:]
		switch msg := msg.(type) {
		case nil:
			continue
		case tea.BatchMsg:
			for _, c := range msg {
				if c != nil {
					queue = append(queue, c())
				}
			}
			continue
		case tea.QuitMsg:
			forProgram = append(forProgram, msg)
			continue
		}
		if strings.HasPrefix(fmt.Sprintf("%T", msg), "tea.") && !isModelMsg(msg) {
			forProgram = append(forProgram, msg)
			continue
		}
		_, cmd := m.Update(msg)
		if cmd != nil {
			queue = append(queue, cmd())
		}
	}
	return forProgram
}

// isModelMsg reports whether a bubbletea message is one models receive.
func isModelMsg(msg tea.Msg) bool {
	switch msg.(type) {
	case tea.KeyPressMsg, tea.WindowSizeMsg, tea.BackgroundColorMsg, tea.PasteMsg:
		return true
	}
	return false
}

// rendered renders m as a terminal with profile p would show it.
func rendered(m *Model, p colorprofile.Profile) string {
	var b strings.Builder
	w := &colorprofile.Writer{Forward: &b, Profile: p}
	_, _ = w.WriteString(m.View().Content)
	return b.String()
}

// plain is the screen's text without any styling.
func plain(m *Model) string { return ansi.Strip(m.View().Content) }

// newTestModel is a model at w×h on a dark background over stack, with a
// clock stuck at noon.
func newTestModel(t *testing.T, stack Stack, w, h int) *Model {
	t.Helper()
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	m := New(stack, Options{Now: func() time.Time { return now }, OpenURL: func(string) error { return nil }})
	drive(t, m, tea.WindowSizeMsg{Width: w, Height: h}, tea.BackgroundColorMsg{Color: color.Black})
	return m
}

// pagerOf is the scrolling text of the detail or token screen m shows.
func pagerOf(t *testing.T, m *Model) *viewport.Model {
	t.Helper()
	switch s := m.screen.(type) {
	case *detailScreen:
		return &s.vp
	case *tokenScreen:
		return &s.vp
	}
	t.Fatalf("no detail or token screen: %T", m.screen)
	return nil
}
