package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// common is what every part of the TUI reads: the styles for the
// terminal's background, the keys, the stack and what was last read from
// it. The model owns it; panes and screens hold a pointer.
type common struct {
	styles Styles
	keys   KeyMap
	stack  Stack
	info   Info
	envs   []string
	env    string
}

// pane is one box of the main screen. The model holds them in a slice,
// gives the focused one the movement keys and lays them out top to bottom.
type pane interface {
	// title is set into the pane's top border.
	title() string
	// lines are the column header and the visible rows for inner width w.
	lines(w int, focused bool) []string
	// move moves the cursor by delta rows, stopping at either end.
	move(delta int)
	// pageSize is how far page up and page down move.
	pageSize() int
	// help is what the footer shows for the pane's own keys.
	help() []key.Binding
	// enter acts on the row under the cursor.
	enter() tea.Cmd
	// rows is how many rows (border and column header included) the pane
	// would like out of body; setRows tells it how many it got.
	rows(body int) int
	setRows(n int)
}

// Indexes of the panes in Model.panes, top to bottom.
const (
	panePersonas = iota
	paneRequests
)

// paneChrome is the rows of a pane that are not entries: two borders and
// the column header.
const paneChrome = 3

// openScreenMsg asks the model to cover the panes with s.
type openScreenMsg struct{ s screen }

func openScreen(s screen) tea.Cmd { return func() tea.Msg { return openScreenMsg{s} } }
