package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
)

// Styles is every style the TUI draws with, built once per background so
// that light terminals get dark text. Meaning never rests on colour alone
// (NO_COLOR drops it): markers, brackets and border weight carry it too.
type Styles struct {
	Title       lipgloss.Style
	Muted       lipgloss.Style
	Bold        lipgloss.Style
	TabActive   lipgloss.Style
	Tab         lipgloss.Style
	Healthy     lipgloss.Style
	Unhealthy   lipgloss.Style
	Border      lipgloss.Style
	BorderFocus lipgloss.Style
	PaneTitle   lipgloss.Style
	ColumnHead  lipgloss.Style
	Selected    lipgloss.Style
	Active      lipgloss.Style
	Allow       lipgloss.Style
	Deny        lipgloss.Style
	Method      lipgloss.Style
	Section     lipgloss.Style
	Key         lipgloss.Style
	Info        lipgloss.Style
	Warn        lipgloss.Style
	Error       lipgloss.Style
	FilterLabel lipgloss.Style
	Help        help.Styles
	Filter      textinput.Styles
}

// NewStyles returns the styles for a dark or light background.
func NewStyles(isDark bool) Styles {
	ld := lipgloss.LightDark(isDark)
	accent := ld(lipgloss.Color("#5A3FC0"), lipgloss.Color("#B4A2FF"))
	muted := ld(lipgloss.Color("#6B6B6B"), lipgloss.Color("#8C8C8C"))
	green := ld(lipgloss.Color("#0F7B3A"), lipgloss.Color("#5FD787"))
	red := ld(lipgloss.Color("#B3261E"), lipgloss.Color("#FF6E6E"))
	yellow := ld(lipgloss.Color("#8A6100"), lipgloss.Color("#F2C94C"))
	fg := ld(lipgloss.Color("#1A1A1A"), lipgloss.Color("#EEEEEE"))

	filter := textinput.DefaultStyles(isDark)
	// A steady cursor: blinking would redraw the screen twice a second for
	// nothing.
	filter.Cursor.Blink = false
	return Styles{
		Title:       lipgloss.NewStyle().Bold(true).Foreground(accent),
		Muted:       lipgloss.NewStyle().Foreground(muted),
		Bold:        lipgloss.NewStyle().Bold(true),
		TabActive:   lipgloss.NewStyle().Bold(true).Foreground(accent),
		Tab:         lipgloss.NewStyle().Foreground(muted),
		Healthy:     lipgloss.NewStyle().Foreground(green),
		Unhealthy:   lipgloss.NewStyle().Bold(true).Foreground(red),
		Border:      lipgloss.NewStyle().Foreground(muted),
		BorderFocus: lipgloss.NewStyle().Foreground(accent),
		PaneTitle:   lipgloss.NewStyle().Bold(true),
		ColumnHead:  lipgloss.NewStyle().Foreground(muted),
		// Reverse video keeps the selection visible without colour.
		Selected:    lipgloss.NewStyle().Reverse(true),
		Active:      lipgloss.NewStyle().Bold(true).Foreground(fg),
		Allow:       lipgloss.NewStyle().Foreground(green),
		Deny:        lipgloss.NewStyle().Bold(true).Foreground(red),
		Method:      lipgloss.NewStyle().Foreground(accent),
		Section:     lipgloss.NewStyle().Bold(true).Foreground(accent),
		Key:         lipgloss.NewStyle().Foreground(muted),
		Info:        lipgloss.NewStyle().Foreground(fg),
		Warn:        lipgloss.NewStyle().Bold(true).Foreground(yellow),
		Error:       lipgloss.NewStyle().Bold(true).Foreground(red),
		FilterLabel: lipgloss.NewStyle().Bold(true).Foreground(accent),
		Help:        help.DefaultStyles(isDark),
		Filter:      filter,
	}
}
