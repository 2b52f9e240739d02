package tui

import (
	"cmp"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// headerLines renders the title with the environment tabs, then the
// services and their health, flowed over as many lines as the width needs.
func (s Styles) headerLines(info Info, envs []string, env string, w int) []string {
	title := s.Title.Render("authdev")
	where := "built-in demo config"
	if info.ConfigFile != "" {
		where = filepath.Base(info.ConfigFile)
	}
	if info.StateStore != "" {
		where += " · keys in " + info.StateStore
	}
	tabsW := w - ansi.StringWidth(title) - 2
	tabs := s.tabs(envs, env, tabsW)
	first := title + "  " + tabs
	// Whatever room the tabs leave goes to where config and keys live.
	if room := w - ansi.StringWidth(first) - 3; room >= 12 {
		right := ansi.Truncate(where, room, "…")
		first += strings.Repeat(" ", w-ansi.StringWidth(first)-ansi.StringWidth(right)) + s.Muted.Render(right)
	}

	items := []string{
		s.service("proxy", info.ProxyURL, HealthUp, ""),
		s.service("idp", info.IdPURL, HealthUp, ""),
	}
	for _, u := range info.Upstreams {
		items = append(items, s.service(u.Name, u.URL, u.Health, u.Reason))
	}
	if info.Coverage != "" {
		items = append(items, s.Muted.Render(info.Coverage))
	}
	return append([]string{ansi.Truncate(first, w, "…")}, flow(items, "   ", w)...)
}

// service is "name url ✓", "name url ? unknown" or "name url ✗ reason":
// the mark carries health without colour.
func (s Styles) service(name, url string, h Health, reason string) string {
	if url == "" {
		url = "-"
	}
	head := s.Muted.Render(name) + " " + url + " "
	switch h {
	case HealthUp:
		return head + s.Healthy.Render("✓")
	case HealthUnknown:
		return head + s.Muted.Render("? unknown")
	}
	return head + s.Unhealthy.Render("✗ "+cmp.Or(reason, "down"))
}

// tabs renders the environments with the active one bracketed; when they do
// not fit, tabs far from the active one give way to "…".
func (s Styles) tabs(envs []string, env string, w int) string {
	render := func(lo, hi int) string {
		var parts []string
		if lo > 0 {
			parts = append(parts, s.Tab.Render("…"))
		}
		for _, e := range envs[lo:hi] {
			if e == env {
				parts = append(parts, s.TabActive.Render("["+e+"]"))
			} else {
				parts = append(parts, s.Tab.Render(" "+e+" "))
			}
		}
		if hi < len(envs) {
			parts = append(parts, s.Tab.Render("…"))
		}
		return strings.Join(parts, " ")
	}
	at := 0
	for i, e := range envs {
		if e == env {
			at = i
		}
	}
	lo, hi := 0, len(envs)
	for lo < hi-1 && ansi.StringWidth(render(lo, hi)) > w {
		// Drop the tab farthest from the active one.
		if at-lo > hi-1-at {
			lo++
		} else {
			hi--
		}
	}
	return render(lo, hi)
}
