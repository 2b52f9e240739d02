package tui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// pad truncates s to w cells (with an ellipsis) or pads it with spaces.
func pad(s string, w int) string {
	if w <= 0 {
		return ""
	}
	s = ansi.Truncate(s, w, "…")
	return s + strings.Repeat(" ", w-ansi.StringWidth(s))
}

// padLeft is pad aligned to the right, for numbers.
func padLeft(s string, w int) string {
	if w <= 0 {
		return ""
	}
	s = ansi.Truncate(s, w, "…")
	return strings.Repeat(" ", w-ansi.StringWidth(s)) + s
}

// box draws lines inside a border of exactly w×h cells with title set into
// the top edge. The focused pane gets a thick border so focus shows without
// colour.
func (s Styles) box(title string, lines []string, w, h int, focused bool) string {
	if w < 4 || h < 2 {
		return ""
	}
	b, bs := lipgloss.RoundedBorder(), s.Border
	if focused {
		b, bs = lipgloss.ThickBorder(), s.BorderFocus
	}
	inner := w - 2
	var out strings.Builder
	t := ansi.Truncate(" "+title+" ", inner-1, "…")
	fill := inner - 1 - ansi.StringWidth(t)
	out.WriteString(bs.Render(b.TopLeft+b.Top) + s.PaneTitle.Render(t) +
		bs.Render(strings.Repeat(b.Top, max(0, fill))+b.TopRight))
	for i := range h - 2 {
		line := ""
		if i < len(lines) {
			line = lines[i]
		}
		out.WriteString("\n" + bs.Render(b.Left) + pad(line, inner) + bs.Render(b.Right))
	}
	out.WriteString("\n" + bs.Render(b.BottomLeft+strings.Repeat(b.Bottom, inner)+b.BottomRight))
	return out.String()
}

// flow joins items with gap into as few lines of width w as it can.
func flow(items []string, gap string, w int) []string {
	var lines []string
	cur := ""
	for _, it := range items {
		switch {
		case cur == "":
			cur = it
		case ansi.StringWidth(cur)+ansi.StringWidth(gap)+ansi.StringWidth(it) <= w:
			cur += gap + it
		default:
			lines = append(lines, cur)
			cur = it
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	for i := range lines {
		lines[i] = ansi.Truncate(lines[i], w, "…")
	}
	return lines
}

// fit cuts or pads content to exactly h lines of at most w cells, so every
// frame covers the whole screen.
func fit(content string, w, h int) string {
	h = max(0, h)
	lines := strings.Split(content, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "")
	}
	return strings.Join(lines, "\n")
}
