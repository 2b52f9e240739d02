package tui

import (
	"fmt"
	"image/color"
	"testing"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/golden"

	tea "charm.land/bubbletea/v2"

	"github.com/authdev/authdev/audit"
)

// TestGolden pins the main screens at 80×24 and 140×40, in
// 256 colours on a dark background; the light and no-colour variants are
// pinned at 80×24. After a deliberate change run `go test ./tui -update`
// and read the diff of testdata/.
func TestGolden(t *testing.T) {
	screens := []struct {
		name  string
		setup func(t *testing.T, m *Model)
	}{
		{"main", func(t *testing.T, m *Model) {}},
		{"requests_focused", func(t *testing.T, m *Model) { drive(t, m, keys("tab k k")...) }},
		{"detail", func(t *testing.T, m *Model) { drive(t, m, keys("tab k k enter")...) }},
		{"token", func(t *testing.T, m *Model) { drive(t, m, press("t")) }},
		{"help", func(t *testing.T, m *Model) { drive(t, m, press("?")) }},
		{"filter", func(t *testing.T, m *Model) {
			drive(t, m, press("/"))
			drive(t, m, typed("admin")...)
		}},
		{"config_error", func(t *testing.T, m *Model) {
			drive(t, m, eventsMsg{events: []audit.Event{{Kind: audit.KindNotice, Level: "error",
				Message: `config reload failed, the old config stays: authdev.yaml:12:5: unknown key "rols": did you mean "roles"?`}}})
		}},
	}
	sizes := [][2]int{{80, 24}, {140, 40}}
	for _, sc := range screens {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s_%dx%d", sc.name, sz[0], sz[1]), func(t *testing.T) {
				m := newGoldenModel(t, sz[0], sz[1], color.Black)
				sc.setup(t, m)
				golden.RequireEqual(t, rendered(m, colorprofile.ANSI256))
			})
		}
	}
	t.Run("main_light_80x24", func(t *testing.T) {
		m := newGoldenModel(t, 80, 24, color.White)
		golden.RequireEqual(t, rendered(m, colorprofile.ANSI256))
	})
	t.Run("main_no_color_80x24", func(t *testing.T) {
		m := newGoldenModel(t, 80, 24, color.Black)
		drive(t, m, press("tab"))
		golden.RequireEqual(t, rendered(m, colorprofile.Ascii))
	})
}

// newGoldenModel is the fake stack with the sample requests on a background.
func newGoldenModel(t *testing.T, w, h int, bg color.Color) *Model {
	m := newTestModel(t, newFakeStack(), w, h)
	drive(t, m, tea.BackgroundColorMsg{Color: bg}, eventsMsg{events: sampleEvents()})
	return m
}
