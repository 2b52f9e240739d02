package tui

import (
	"fmt"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/authdev/authdev/audit"
)

// screen covers the panes until it closes: the request detail, the token,
// the help. The model handles quit, back and help for every screen and
// passes the other keys on.
type screen interface {
	// view draws the screen in the size resize last gave.
	view() string
	// footer is the key help under it.
	footer(h *help.Model) string
	// key takes a key; done reports that the screen closes.
	key(msg tea.KeyPressMsg) (cmd tea.Cmd, done bool)
	// resize lays the screen out for w×h cells, in the current styles.
	resize(w, h int)
}

// pager is a screen of rendered text that scrolls.
type pager struct {
	c      *common
	vp     viewport.Model
	render func(w int) string
	keys   []key.Binding
}

func newPager(c *common, keys []key.Binding, render func(w int) string) pager {
	return pager{c: c, vp: viewport.New(), render: render, keys: keys}
}

func (p *pager) view() string { return p.vp.View() }

func (p *pager) resize(w, h int) {
	if w <= 0 {
		return
	}
	p.vp.SetWidth(w)
	p.vp.SetHeight(max(1, h))
	p.vp.SetContent(indent(p.render(w-2), " "))
}

// scroll moves through the text: top, bottom, and the viewport's own keys.
func (p *pager) scroll(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, p.c.keys.Top):
		p.vp.GotoTop()
		return nil
	case key.Matches(msg, p.c.keys.Bottom):
		p.vp.GotoBottom()
		return nil
	}
	var cmd tea.Cmd
	p.vp, cmd = p.vp.Update(msg)
	return cmd
}

// footer says which lines show when the text is longer than the screen,
// then the keys.
func (p *pager) footer(h *help.Model) string {
	out := h.ShortHelpView(p.keys)
	if total := p.vp.TotalLineCount(); total > p.vp.Height() {
		top := p.vp.YOffset()
		where := fmt.Sprintf("lines %d–%d of %d · ", top+1, min(total, top+p.vp.Height()), total)
		out = p.c.styles.Muted.Render(where) + out
	}
	return out
}

// detailScreen is everything the proxy recorded about one request.
type detailScreen struct{ pager }

func newDetailScreen(c *common, e audit.Event) *detailScreen {
	return &detailScreen{newPager(c, c.keys.detailHelp().short, func(w int) string { return c.styles.detailContent(e, w) })}
}

func (d *detailScreen) key(msg tea.KeyPressMsg) (tea.Cmd, bool) { return d.scroll(msg), false }

// tokenScreen shows a persona's access token, decoded, once the stack has
// minted it.
type tokenScreen struct {
	pager
	token tokenState
}

func newTokenScreen(c *common, persona, env string) *tokenScreen {
	t := &tokenScreen{token: tokenState{persona: persona, env: env, loading: true}}
	t.pager = newPager(c, c.keys.tokenHelp().short, func(w int) string { return c.styles.tokenContent(t.token, w) })
	return t
}

// answer takes the stack's answer to this screen's request.
func (t *tokenScreen) answer(msg tokenMsg) {
	if msg.persona != t.token.persona || msg.env != t.token.env {
		return
	}
	t.token.loading = false
	t.token.token, t.token.err = msg.token, msg.err
	if msg.err == nil {
		t.token.header, t.token.claims, t.token.err = decodeToken(msg.token)
	}
}

func (t *tokenScreen) key(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	switch {
	case key.Matches(msg, t.c.keys.Token):
		return nil, true
	case key.Matches(msg, t.c.keys.Copy):
		if t.token.token == "" {
			return showStatus(levelWarn, "no token to copy yet"), false
		}
		return tea.Batch(showStatus(levelInfo, fmt.Sprintf("copied the access token of %s to the clipboard (OSC 52)", t.token.persona)),
			tea.SetClipboard(t.token.token)), false
	}
	return t.scroll(msg), false
}

// helpScreen lists every key, grouped by what it acts on.
type helpScreen struct {
	c    *common
	help *help.Model
}

func (h *helpScreen) view() string {
	title := h.c.styles.Bold.Render("Keys") + h.c.styles.Muted.Render("  (? or esc closes)")
	return " " + title + "\n\n" + indent(h.help.FullHelpView(h.c.keys.fullHelp().full), " ")
}

func (h *helpScreen) footer(hm *help.Model) string {
	return hm.ShortHelpView([]key.Binding{h.c.keys.Back, h.c.keys.Quit})
}

func (h *helpScreen) key(tea.KeyPressMsg) (tea.Cmd, bool) { return nil, false }

func (h *helpScreen) resize(int, int) {}
