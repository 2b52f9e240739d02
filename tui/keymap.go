package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key the TUI answers to; the help screen is built from it,
// so a key without help text here does not exist.
type KeyMap struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Enter    key.Binding
	Back     key.Binding
	Tab      key.Binding
	NextEnv  key.Binding
	PrevEnv  key.Binding
	Token    key.Binding
	Copy     key.Binding
	Open     key.Binding
	Rotate   key.Binding
	Drill    key.Binding
	Filter   key.Binding
	Help     key.Binding
	Quit     key.Binding
}

// DefaultKeyMap is every key of the TUI, paging keys included.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "oldest")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "newest, follow")),
		Enter:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "activate / detail")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Tab:      key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "switch pane")),
		NextEnv:  key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "next env")),
		PrevEnv:  key.NewBinding(key.WithKeys("E"), key.WithHelp("E", "prev env")),
		Token:    key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "token")),
		Copy:     key.NewBinding(key.WithKeys("c", "y"), key.WithHelp("c", "copy token")),
		Open:     key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open proxy")),
		Rotate:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "rotate keys")),
		Drill:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "drill")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// helpKeys adapts the key map to bubbles/help for one screen of the TUI.
type helpKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpKeys) ShortHelp() []key.Binding  { return h.short }
func (h helpKeys) FullHelp() [][]key.Binding { return h.full }

// fullHelp is the help screen: every key, grouped by what it acts on.
func (k KeyMap) fullHelp() helpKeys {
	return helpKeys{full: [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Enter, k.Back, k.Tab, k.Filter, k.Drill},
		{k.NextEnv, k.PrevEnv, k.Token, k.Copy, k.Open, k.Rotate},
		{k.Help, k.Quit},
	}}
}

// detailHelp is the footer of the request detail.
func (k KeyMap) detailHelp() helpKeys {
	return helpKeys{short: []key.Binding{k.Up, k.Down, k.PageDown, k.Back, k.Quit}}
}

// tokenHelp is the footer of the token view.
func (k KeyMap) tokenHelp() helpKeys {
	return helpKeys{short: []key.Binding{k.Copy, k.Up, k.Down, k.Back, k.Quit}}
}

// filterHelp is the footer while typing a filter.
func (k KeyMap) filterHelp() helpKeys {
	return helpKeys{short: []key.Binding{
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear")),
	}}
}
