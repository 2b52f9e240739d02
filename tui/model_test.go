package tui

import (
	"errors"
	"fmt"
	"image/color"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/authdev/authdev/audit"
)

// line finds the screen line that contains s.
func line(t *testing.T, m *Model, s string) string {
	t.Helper()
	for _, l := range strings.Split(plain(m), "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	t.Fatalf("no line on screen contains %q:\n%s", s, plain(m))
	return ""
}

func statusOf(m *Model) string {
	lines := strings.Split(plain(m), "\n")
	return lines[len(lines)-2]
}

func TestPersonaPaneShowsPersonasInConfigOrderWithRolesAndTheActiveOneMarked(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	screen := plain(m)
	var order []int
	for _, id := range []string{"alice", "bob", "carol", "eve"} {
		order = append(order, strings.Index(screen, " "+id+" "))
	}
	if !slices.IsSorted(order) || order[0] < 0 {
		t.Errorf("personas are not in config order (positions %v):\n%s", order, screen)
	}
	if l := line(t, m, "alice@example.com"); !strings.HasPrefix(strings.TrimLeft(l, "┃│"), "● alice") {
		t.Errorf("the active persona alice is not marked: %q", l)
	}
	if l := line(t, m, "bob@example.com"); !strings.Contains(l, "Bob Builder") || !strings.Contains(l, "developer, admin") {
		t.Errorf("bob's row lacks his name or his roles in dev: %q", l)
	}
	if !strings.Contains(screen, "ROLES IN DEV") {
		t.Errorf("the roles column does not say which environment:\n%s", screen)
	}
}

func TestHeaderShowsURLsHealthAndEnvironmentTabs(t *testing.T) {
	f := newFakeStack()
	f.info.Upstreams = append(f.info.Upstreams,
		Service{Name: "legacy", URL: "http://127.0.0.1:9000", Health: HealthDown, Reason: "connection refused"},
		Service{Name: "new", URL: "http://127.0.0.1:9001"})
	m := newTestModel(t, f, 140, 40)
	header, _, _ := strings.Cut(plain(m), "Personas in")
	for _, want := range []string{"[dev]", "staging", "prod", "proxy https://127.0.0.1:8443 ✓", "idp http://localhost:9400 ✓",
		"api http://127.0.0.1:8000 ✓", "legacy http://127.0.0.1:9000 ✗ connection refused",
		"new http://127.0.0.1:9001 ? unknown", "authdev.yaml", "keyring"} {
		if !strings.Contains(header, want) {
			t.Errorf("header lacks %q:\n%s", want, header)
		}
	}
}

func TestUpAndDownMoveThePersonaCursor(t *testing.T) {
	tests := []struct {
		name string
		keys string
		want string
	}{
		{"down moves to the next persona", "down", "bob"},
		{"j moves to the next persona", "j j", "carol"},
		{"up moves back", "j j up", "bob"},
		{"k moves back", "j k", "alice"},
		{"the cursor stops at the last persona", "j j j j j j", "eve"},
		{"the cursor stops at the first persona", "k k", "alice"},
		{"page down goes to the end", "pgdown", "eve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestModel(t, newFakeStack(), 80, 24)
			drive(t, m, keys(tt.keys)...)
			if p, _ := m.personas.selected(); p.ID != tt.want {
				t.Errorf("after %q the cursor is on %q, want %q", tt.keys, p.ID, tt.want)
			}
		})
	}
}

func TestEnterActivatesThePersonaUnderTheCursor(t *testing.T) {
	f := newFakeStack()
	m := newTestModel(t, f, 80, 24)
	drive(t, m, keys("j enter")...)
	if !slices.Equal(f.activated, []string{"bob"}) {
		t.Fatalf("stack activations = %v, want [bob]", f.activated)
	}
	if l := line(t, m, "bob@example.com"); !strings.Contains(l, "● bob") {
		t.Errorf("bob is not marked active after enter: %q", l)
	}
	if l := line(t, m, "alice@example.com"); strings.Contains(l, "●") {
		t.Errorf("alice is still marked active: %q", l)
	}
	if s := statusOf(m); !strings.Contains(s, "bob is now the active persona") {
		t.Errorf("status line = %q, want it to confirm bob", s)
	}
}

func TestAFailedActivationShowsTheErrorAndKeepsTheActivePersona(t *testing.T) {
	f := newFakeStack()
	f.failWith = errBoom
	m := newTestModel(t, f, 80, 24)
	drive(t, m, keys("j enter")...)
	if s := statusOf(m); !strings.Contains(s, `✗ activate "bob": the keyring is locked`) {
		t.Errorf("status line = %q, want the error", s)
	}
	if l := line(t, m, "alice@example.com"); !strings.Contains(l, "● alice") {
		t.Errorf("alice should still be active: %q", l)
	}
}

func TestTabMovesFocusBetweenPanes(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	drive(t, m, eventsMsg{events: sampleEvents()})
	if m.focus != panePersonas {
		t.Fatal("the persona pane should have focus at start")
	}
	if !strings.Contains(line(t, m, "Personas in dev"), "┏") {
		t.Error("the focused persona pane should have the thick border")
	}
	drive(t, m, press("tab"))
	if m.focus != paneRequests || !strings.Contains(line(t, m, "Requests"), "┏") {
		t.Error("tab should move focus to the request pane")
	}
	drive(t, m, press("k"))
	if e, _ := m.requests.selected(); e.Path != "/reports/q3" {
		t.Errorf("k in the request pane selected %q, want the previous request", e.Path)
	}
	if p, _ := m.personas.selected(); p.ID != "alice" {
		t.Errorf("k in the request pane moved the persona cursor to %q", p.ID)
	}
	drive(t, m, press("shift+tab"))
	if m.focus != panePersonas {
		t.Error("shift+tab should move focus back to the persona pane")
	}
}

func TestRequestPaneShowsEveryColumnNewestAtTheBottom(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 140, 40)
	drive(t, m, eventsMsg{events: sampleEvents()})
	l := line(t, m, "deny admin-area")
	for _, want := range []string{"12:00:04", "bob", "GET", "/admin/users", "403", "850µs"} {
		if !strings.Contains(l, want) {
			t.Errorf("the denied request's row lacks %q: %q", want, l)
		}
	}
	if l := line(t, m, "refused"); !strings.Contains(l, "401") {
		t.Errorf("the refused token's row lacks its status: %q", l)
	}
	screen := plain(m)
	if strings.Index(screen, "12:00:06") < strings.Index(screen, "12:00:02") {
		t.Error("the newest request should be at the bottom")
	}
}

func TestRequestPaneFollowsNewestUntilScrolled(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	var many []audit.Event
	for i := range 40 {
		many = append(many, audit.Event{Time: at(i), Kind: audit.KindRequest, Persona: "alice", Method: "GET",
			Path: fmt.Sprintf("/item/%d", i), Status: 200, Decision: "allow"})
	}
	drive(t, m, eventsMsg{events: many})
	drive(t, m, press("tab"))
	if !strings.Contains(plain(m), "/item/39") || strings.Contains(plain(m), "/item/0 ") {
		t.Fatalf("the pane should show the newest requests:\n%s", plain(m))
	}
	drive(t, m, keys("k k k")...)
	if !strings.Contains(line(t, m, "Requests"), "paused") {
		t.Error("scrolling up should pause following")
	}
	drive(t, m, eventsMsg{events: []audit.Event{{Time: at(50), Kind: audit.KindRequest, Method: "GET", Path: "/item/new", Status: 200}}})
	if e, _ := m.requests.selected(); e.Path != "/item/36" {
		t.Errorf("a new request moved the selection to %q while paused", e.Path)
	}
	drive(t, m, press("G"))
	if e, _ := m.requests.selected(); e.Path != "/item/new" || !strings.Contains(line(t, m, "Requests"), "following") {
		t.Errorf("G should select the newest (%q) and follow", e.Path)
	}
	drive(t, m, press("g"))
	if e, _ := m.requests.selected(); e.Path != "/item/0" || !strings.Contains(plain(m), "/item/0 ") {
		t.Errorf("g should select and show the oldest, got %q", e.Path)
	}
	drive(t, m, keys("pgdown")...)
	if e, _ := m.requests.selected(); e.Path != fmt.Sprintf("/item/%d", m.requests.height) {
		t.Errorf("page down selected %q", e.Path)
	}
}

func TestRequestHistoryIsBounded(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	for i := range maxRequests + 10 {
		drive(t, m, eventsMsg{events: []audit.Event{{Kind: audit.KindRequest, Path: fmt.Sprintf("/%d", i)}}})
	}
	if len(m.requests.all) != maxRequests || m.requests.all[0].ev.Path != "/10" {
		t.Errorf("kept %d requests starting at %q, want the newest %d", len(m.requests.all), m.requests.all[0].ev.Path, maxRequests)
	}
}

func TestEnterOpensRequestDetailAndEscClosesIt(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	drive(t, m, eventsMsg{events: sampleEvents()})
	drive(t, m, keys("tab k k enter")...)
	if _, ok := m.screen.(*detailScreen); !ok {
		t.Fatal("enter on a request should open its detail")
	}
	content := ansi.Strip(pagerOf(t, m).GetContent())
	for _, want := range []string{
		"GET /admin/users", "bob (bob@example.com) in dev", "session from 127.0.0.1", "api → http://127.0.0.1:8000",
		"deny admin-area", "403 in 850µs",
		"✓ matched admin-area (authorization) → DENY", `STARTSWITH("/admin")`,
		"· no match reports-readers", "! error   broken", "EQ needs a number, got text",
		"X-Remote-User: bob@example.com", "X-Remote-Roles: developer",
		"Headers stripped", "x_remote_roles",
		"groups: [\"eng\",\"eng-admins\"]", "exp:    1746101100 (2025-05-01T12:05:00Z)",
		"Signed assertion", "iss:   https://127.0.0.1:8443", "aud:   api",
	} {
		if !strings.Contains(content, want) {
			t.Errorf("the detail lacks %q:\n%s", want, content)
		}
	}
	drive(t, m, keys("j j")...)
	if pagerOf(t, m).YOffset() != 2 {
		t.Errorf("j in the detail scrolled to %d, want 2", pagerOf(t, m).YOffset())
	}
	drive(t, m, press("esc"))
	if m.screen != nil || m.focus != paneRequests {
		t.Error("esc should return to the request pane")
	}
}

func TestEnterWithNoRequestsDoesNothing(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	drive(t, m, keys("tab enter")...)
	if m.screen != nil {
		t.Error("enter on an empty request pane should stay on the main screen")
	}
	if !strings.Contains(plain(m), "no requests yet: open https://127.0.0.1:8443") {
		t.Errorf("the empty pane should say how to make a request:\n%s", plain(m))
	}
}

func TestEnvironmentKeys(t *testing.T) {
	tests := []struct {
		name string
		keys string
		want string
	}{
		{"e moves to the next environment", "e", "staging"},
		{"e twice moves on again", "e e", "prod"},
		{"e wraps around", "e e e", "dev"},
		{"E moves to the previous environment, wrapping", "E", "prod"},
		{"E after e comes back", "e E", "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStack()
			m := newTestModel(t, f, 80, 24)
			drive(t, m, keys(tt.keys)...)
			if _, env := f.Active(); env != tt.want {
				t.Errorf("stack environment = %q, want %q", env, tt.want)
			}
			if !strings.Contains(plain(m), "["+tt.want+"]") || !strings.Contains(plain(m), "Personas in "+tt.want) {
				t.Errorf("the screen does not show %q as active:\n%s", tt.want, plain(m))
			}
		})
	}
}

func TestSwitchingEnvironmentShowsThatEnvironmentsRoles(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	drive(t, m, press("E"))
	if l := line(t, m, "eve@partner.example"); !strings.Contains(l, "no roles") {
		t.Errorf("eve holds no role in prod: %q", l)
	}
	if l := line(t, m, "bob@example.com"); strings.Contains(l, "admin") {
		t.Errorf("bob is no admin in prod: %q", l)
	}
}

func TestAFailedEnvironmentSwitchShowsTheError(t *testing.T) {
	f := newFakeStack()
	f.failWith = errBoom
	m := newTestModel(t, f, 80, 24)
	drive(t, m, press("e"))
	if s := statusOf(m); !strings.Contains(s, `switch to environment "staging": the keyring is locked`) {
		t.Errorf("status = %q", s)
	}
}

func TestTokenViewShowsTheActivePersonasTokenAndCopiesIt(t *testing.T) {
	f := newFakeStack()
	m := newTestModel(t, f, 80, 24)
	drive(t, m, keys("j t")...)
	if !slices.Equal(f.tokenFor, []string{"alice@dev"}) {
		t.Fatalf("tokens asked for %v, want the active persona alice in dev", f.tokenFor)
	}
	want, _ := signedToken("alice", "dev")
	content := ansi.Strip(pagerOf(t, m).GetContent())
	if !strings.Contains(strings.ReplaceAll(strings.ReplaceAll(content, "\n", ""), " ", ""), want) {
		t.Errorf("the token screen does not show the token:\n%s", content)
	}
	for _, s := range []string{"Access token of alice in dev", "alg: HS256", "kid: dev-1", "sub:    alice", "iss:    http://localhost:9400/dev"} {
		if !strings.Contains(content, s) {
			t.Errorf("the token screen lacks %q:\n%s", s, content)
		}
	}
	out := drive(t, m, press("c"))
	if len(out) != 1 || fmt.Sprintf("%T", out[0]) != "tea.setClipboardMsg" || fmt.Sprint(out[0]) != want {
		t.Errorf("c should set the clipboard to the token, the program got %#v", out)
	}
	if s := statusOf(m); !strings.Contains(s, "copied the access token of alice") {
		t.Errorf("status = %q", s)
	}
	drive(t, m, press("t"))
	if m.screen != nil {
		t.Error("t should close the token screen")
	}
	drive(t, m, keys("t esc")...)
	if m.screen != nil {
		t.Error("esc should close the token screen")
	}
}

func TestTokenWithoutActivePersonaUsesTheCursor(t *testing.T) {
	f := newFakeStack()
	f.active = ""
	m := newTestModel(t, f, 80, 24)
	if !strings.Contains(plain(m), "no active persona") {
		t.Errorf("the screen should say no persona is active:\n%s", plain(m))
	}
	drive(t, m, keys("j j t")...)
	if !slices.Equal(f.tokenFor, []string{"carol@dev"}) {
		t.Errorf("tokens asked for %v, want carol under the cursor", f.tokenFor)
	}
}

func TestATokenErrorShowsOnTheTokenScreen(t *testing.T) {
	f := newFakeStack()
	f.failWith = errBoom
	m := newTestModel(t, f, 80, 24)
	drive(t, m, press("t"))
	if c := ansi.Strip(pagerOf(t, m).GetContent()); !strings.Contains(c, `get a token for "alice" in "dev": the keyring is locked`) {
		t.Errorf("token screen:\n%s", c)
	}
	drive(t, m, press("c"))
	if s := statusOf(m); !strings.Contains(s, "no token to copy") {
		t.Errorf("status = %q", s)
	}
}

func TestOOpensTheProxyURL(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status string
	}{
		{"a browser opens", nil, "• opened https://127.0.0.1:8443"},
		{"no browser shows the URL to open", errors.New("xdg-open: not found"),
			"✗ no browser could be opened (xdg-open: not found): open https://127.0.0.1:8443 yourself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opened []string
			m := New(newFakeStack(), Options{OpenURL: func(u string) error { opened = append(opened, u); return tt.err }})
			drive(t, m, tea.WindowSizeMsg{Width: 140, Height: 40}, press("o"))
			if !slices.Equal(opened, []string{"https://127.0.0.1:8443"}) {
				t.Errorf("opened %v", opened)
			}
			if s := statusOf(m); !strings.Contains(s, tt.status) {
				t.Errorf("status = %q, want %q", s, tt.status)
			}
		})
	}
}

func TestRRotatesTheActiveEnvironmentsKeys(t *testing.T) {
	f := newFakeStack()
	m := newTestModel(t, f, 80, 24)
	drive(t, m, keys("e r")...)
	if !slices.Equal(f.rotated, []string{"staging"}) {
		t.Errorf("rotated %v, want [staging]", f.rotated)
	}
	if s := statusOf(m); !strings.Contains(s, "rotated the signing keys of staging") {
		t.Errorf("status = %q", s)
	}
	f.failWith = errBoom
	drive(t, m, press("r"))
	if s := statusOf(m); !strings.Contains(s, `✗ rotate the signing keys of "staging": the keyring is locked`) {
		t.Errorf("status = %q", s)
	}
}

func TestSlashFiltersRequests(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	drive(t, m, eventsMsg{events: sampleEvents()})
	drive(t, m, press("/"))
	drive(t, m, typed("deny")...)
	if !m.filtering || m.focus != paneRequests {
		t.Fatal("/ should start typing a filter in the request pane")
	}
	screen := plain(m)
	if !strings.Contains(screen, "deny admin-area") || strings.Contains(screen, "/reports/q3/export") {
		t.Errorf("the filter %q should keep only the denied request:\n%s", "deny", screen)
	}
	if !strings.Contains(line(t, m, "Requests"), `filter "deny" · 1 of 6`) {
		t.Errorf("the pane title should show the filter: %q", line(t, m, "Requests"))
	}
	drive(t, m, press("enter"))
	if m.filtering || m.requests.filter != "deny" {
		t.Error("enter should keep the filter and stop typing")
	}
	drive(t, m, press("q"))
	if !m.quitting {
		t.Error("after enter, q should quit again")
	}

	m = newTestModel(t, newFakeStack(), 80, 24)
	drive(t, m, eventsMsg{events: sampleEvents()})
	drive(t, m, press("/"))
	drive(t, m, typed("q3")...)
	if m.quitting {
		t.Fatal("q typed into the filter must not quit")
	}
	if m.requests.filter != "q3" || len(m.requests.visible) != 2 {
		t.Errorf("filter %q kept %d requests, want 2", m.requests.filter, len(m.requests.visible))
	}
	drive(t, m, press("esc"))
	if m.filtering || m.requests.filter != "" || len(m.requests.visible) != 6 {
		t.Error("esc should clear the filter")
	}
}

func TestFilterMatchesPersonaStatusAndPolicy(t *testing.T) {
	tests := []struct {
		filter string
		want   int
	}{
		{"carol", 1},
		{"ALICE", 3},
		{"403", 1},
		{"reports-readers", 1},
		{"refused", 1},
		{"nothing-like-this", 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("filter %q keeps %d", tt.filter, tt.want), func(t *testing.T) {
			l := newRequestList(&common{})
			l.setHeight(10)
			l.add(sampleEvents()...)
			l.setFilter(tt.filter)
			if len(l.visible) != tt.want {
				t.Errorf("kept %d", len(l.visible))
			}
		})
	}
}

func TestQuestionMarkShowsHelpWithEveryKey(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	drive(t, m, press("?"))
	screen := plain(m)
	for _, b := range m.keys.fullHelp().full {
		for _, k := range b {
			if !strings.Contains(screen, k.Help().Key+" ") || !strings.Contains(screen, k.Help().Desc) {
				t.Errorf("help lacks %q %q:\n%s", k.Help().Key, k.Help().Desc, screen)
			}
		}
	}
	drive(t, m, press("?"))
	if m.screen != nil {
		t.Error("? should close the help")
	}
	drive(t, m, keys("? esc")...)
	if m.screen != nil {
		t.Error("esc should close the help")
	}
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		for _, at := range []string{"", "?", "t", "tab enter", "/"} {
			if at == "/" && k == "q" {
				continue // q types into the filter: TestSlashFiltersRequests
			}
			t.Run(fmt.Sprintf("%s quits from %q", k, at), func(t *testing.T) {
				f := newFakeStack()
				m := newTestModel(t, f, 80, 24)
				drive(t, m, eventsMsg{events: sampleEvents()})
				drive(t, m, keys(at)...)
				out := drive(t, m, press(k))
				if len(out) != 1 || out[0] != (tea.QuitMsg{}) {
					t.Fatalf("%s should quit, the program got %#v", k, out)
				}
				if !m.sub.closed || m.View().Content != "" {
					t.Error("quitting should end the subscription and clear the screen")
				}
			})
		}
	}
}

func TestNoticesShowInTheStatusLine(t *testing.T) {
	tests := []struct {
		name  string
		event audit.Event
		want  string
	}{
		{"a config reload", audit.Event{Kind: audit.KindNotice, Level: "info", Message: "config reloaded: personas +dave"},
			"• config reloaded: personas +dave"},
		{"a broken config", audit.Event{Kind: audit.KindNotice, Level: "error",
			Message: "config reload failed, the old config stays: authdev.yaml:12: unknown key \"rols\""},
			`✗ config reload failed, the old config stays: authdev.yaml:12: unknown key "rols"`},
		{"an upstream down", audit.Event{Kind: audit.KindNotice, Level: "warn", Message: "upstream api is down"},
			"! upstream api is down"},
		{"a notice without level", audit.Event{Kind: audit.KindNotice, Message: "persona bob activated"},
			"• persona bob activated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestModel(t, newFakeStack(), 140, 40)
			drive(t, m, eventsMsg{events: []audit.Event{tt.event}})
			if s := statusOf(m); !strings.Contains(s, tt.want) {
				t.Errorf("status = %q, want %q", s, tt.want)
			}
			if len(m.requests.all) != 0 {
				t.Error("a notice is no request")
			}
		})
	}
}

func TestANoticeRereadsTheStack(t *testing.T) {
	f := newFakeStack()
	m := newTestModel(t, f, 80, 24)
	f.mu.Lock()
	f.active = "carol" // as `authdev as carol` from another terminal would
	f.mu.Unlock()
	drive(t, m, eventsMsg{events: []audit.Event{{Kind: audit.KindNotice, Message: "carol is now active"}}})
	if l := line(t, m, "carol@example.com"); !strings.Contains(l, "● carol") {
		t.Errorf("carol should be marked active after the notice: %q", l)
	}
}

func TestInfoStatusExpiresButErrorsStay(t *testing.T) {
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	m := New(newFakeStack(), Options{Now: func() time.Time { return now }})
	drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24},
		eventsMsg{events: []audit.Event{{Kind: audit.KindNotice, Level: "info", Message: "config reloaded"}}})
	now = now.Add(infoExpiry)
	m.Update(tickMsg{})
	if s := statusOf(m); strings.Contains(s, "config reloaded") {
		t.Errorf("an old info status should go: %q", s)
	}
	drive(t, m, eventsMsg{events: []audit.Event{{Kind: audit.KindNotice, Level: "error", Message: "authdev.yaml:3: bad"}}})
	now = now.Add(time.Hour)
	m.Update(tickMsg{})
	if s := statusOf(m); !strings.Contains(s, "authdev.yaml:3: bad") {
		t.Errorf("an error should stay until replaced: %q", s)
	}
}

func TestTickRereadsHealth(t *testing.T) {
	f := newFakeStack()
	m := newTestModel(t, f, 140, 40)
	f.mu.Lock()
	f.info.Upstreams = []Service{{Name: "api", URL: "http://127.0.0.1:8000", Health: HealthDown, Reason: "connection refused"}}
	f.mu.Unlock()
	if _, cmd := m.Update(tickMsg{}); cmd == nil {
		t.Error("a tick should schedule the next one")
	}
	if !strings.Contains(plain(m), "api http://127.0.0.1:8000 ✗ connection refused") {
		t.Errorf("the header should show the upstream down:\n%s", plain(m))
	}
}

func TestEverySizeFillsTheScreenExactly(t *testing.T) {
	sizes := [][2]int{{80, 24}, {140, 40}, {60, 16}, {40, 10}, {200, 60}, {10, 5}}
	for _, sz := range sizes {
		for _, ks := range []string{"", "tab enter", "t", "?", "/"} {
			t.Run(fmt.Sprintf("%dx%d after %q", sz[0], sz[1], ks), func(t *testing.T) {
				m := newTestModel(t, newFakeStack(), 140, 40)
				drive(t, m, eventsMsg{events: sampleEvents()})
				drive(t, m, keys(ks)...)
				drive(t, m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
				lines := strings.Split(m.View().Content, "\n")
				if len(lines) != sz[1] {
					t.Errorf("%d lines, want %d", len(lines), sz[1])
				}
				for i, l := range lines {
					if w := ansi.StringWidth(l); w > sz[0] {
						t.Errorf("line %d is %d wide: %q", i, w, ansi.Strip(l))
					}
				}
			})
		}
	}
}

func TestLightBackgroundChangesTheStyles(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	dark := m.View().Content
	drive(t, m, tea.BackgroundColorMsg{Color: color.White})
	light := m.View().Content
	if dark == light {
		t.Error("a light background should change the colours")
	}
	if ansi.Strip(dark) != ansi.Strip(light) {
		t.Error("the background should change colours only, not text")
	}
}

func TestSubscriptionDeliversEventsUntilClosed(t *testing.T) {
	f := newFakeStack()
	m := New(f, Options{})
	drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	batch, ok := m.Init()().(tea.BatchMsg)
	if !ok || len(batch) == 0 {
		t.Fatalf("Init should return a batch of commands")
	}
	sub, ok := batch[0]().(subscribedMsg)
	if !ok || f.subscribed != 1 {
		t.Fatalf("the first command should subscribe, got %#v", sub)
	}
	_, listenCmd := m.Update(sub)
	f.broker.Publish(audit.Event{Kind: audit.KindRequest, Method: "GET", Path: "/live", Status: 200})
	f.broker.Publish(audit.Event{Kind: audit.KindDecision, Path: "/live"})
	_, next := m.Update(listenCmd())
	if len(m.requests.all) != 1 || m.requests.all[0].ev.Path != "/live" {
		t.Fatalf("the published request should be listed once, got %d", len(m.requests.all))
	}
	if next == nil {
		t.Fatal("the model should keep listening")
	}
	m.Close()
	if msg := next(); msg.(eventsMsg).ended != true {
		t.Errorf("after Close the listener should see the end, got %#v", msg)
	}
	if sub := batch[0](); sub != nil {
		t.Errorf("a closed model must not subscribe again, got %#v", sub)
	}
	if tick := m.tick()(); tick != nil {
		t.Errorf("a closed model's tick should end at once, got %#v", tick)
	}
}

func TestARefusalAndItsRequestAreOneRow(t *testing.T) {
	refusal := audit.Event{Time: at(1), Kind: audit.KindTokenRefused, Method: "GET", Path: "/admin/users", ClientIP: "127.0.0.1",
		Via: "bearer", Message: "token expired"}
	request := audit.Event{Time: at(1), Kind: audit.KindRequest, Method: "GET", Path: "/admin/users", ClientIP: "127.0.0.1", Status: 401}
	idpRefusal := audit.Event{Time: at(2), Kind: audit.KindTokenRefused, Method: "POST", Path: "/dev/token", Status: 400,
		Message: "invalid_grant: the code was used"}
	other := audit.Event{Time: at(3), Kind: audit.KindRequest, Method: "GET", Path: "/", ClientIP: "127.0.0.1", Status: 200}
	tests := []struct {
		name   string
		events []audit.Event
		rows   []string // kind and message of each row
	}{
		{"the request takes the refusal's place and reason", []audit.Event{refusal, request},
			[]string{"request token expired"}},
		{"a refusal with no request of its own stays", []audit.Event{idpRefusal, other},
			[]string{"token_refused invalid_grant: the code was used", "request "}},
		{"a request for another path leaves the refusal", []audit.Event{refusal, other},
			[]string{"token_refused token expired", "request "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newRequestList(&common{})
			l.setHeight(10)
			for _, e := range tt.events {
				l.add(e)
			}
			var rows []string
			for _, en := range l.visible {
				rows = append(rows, string(en.ev.Kind)+" "+en.ev.Message)
			}
			if !slices.Equal(rows, tt.rows) {
				t.Errorf("rows = %q, want %q", rows, tt.rows)
			}
		})
	}
}

func TestALoginAtTheIdPSaysWhatHappened(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 140, 40)
	drive(t, m, eventsMsg{events: []audit.Event{{Time: at(1), Kind: audit.KindLogin, Persona: "bob", Env: "dev",
		Message: "signed in at the IdP for client authdev-proxy"}}})
	if l := line(t, m, "LOGIN"); !strings.Contains(l, "bob") || !strings.Contains(l, "signed in at the IdP") {
		t.Errorf("login row = %q", l)
	}
}

func TestTheDetailOfALoginShowsNoPolicies(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	drive(t, m, eventsMsg{events: []audit.Event{{Time: at(1), Kind: audit.KindLogin, Persona: "bob", Env: "dev", Via: "session",
		Path: "/", Message: "groups eng; roles developer", Claims: map[string]any{"email": "bob@example.com"}}}})
	drive(t, m, keys("tab enter")...)
	c := ansi.Strip(pagerOf(t, m).GetContent())
	if strings.Contains(c, "Policies") || strings.Contains(c, "Headers") || !strings.Contains(c, "email: bob@example.com") ||
		!strings.Contains(c, "groups eng; roles developer") {
		t.Errorf("login detail:\n%s", c)
	}
}

func TestManyPersonasScrollWithTheCursor(t *testing.T) {
	f := newFakeStack()
	var many []Persona
	for i := range 30 {
		many = append(many, Persona{ID: fmt.Sprintf("user%02d", i), Email: fmt.Sprintf("user%02d@example.com", i)})
	}
	f.personas["dev"] = many
	f.active = "user00"
	m := newTestModel(t, f, 80, 24)
	if strings.Contains(plain(m), "user29") {
		t.Fatal("30 personas cannot all fit at 80×24")
	}
	drive(t, m, keys(strings.Repeat("j ", 25))...)
	if !strings.Contains(plain(m), "user25@example.com") || strings.Contains(plain(m), "user00@example.com") {
		t.Errorf("the pane should scroll to the cursor:\n%s", plain(m))
	}
	if !strings.Contains(plain(m), "Requests") {
		t.Error("the persona pane must leave room for the requests")
	}
}

func TestTheDetailOfARequestRefusedBeforeAnyPolicySaysSo(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 140, 40)
	drive(t, m, eventsMsg{events: []audit.Event{{Time: at(1), Kind: audit.KindRequest, Env: "prod", Method: "GET", Path: "/reports/q3",
		Status: 401, Via: "bearer", Message: "issued by http://localhost:9400/dev, this proxy is in prod (http://localhost:9400/prod)"}}})
	drive(t, m, keys("tab enter")...)
	c := ansi.Strip(pagerOf(t, m).GetContent())
	if !strings.Contains(c, "none: the request was refused before any policy ran") || strings.Contains(c, "default action") {
		t.Errorf("the detail of a refused request:\n%s", c)
	}
}

func TestTheDetailListsTheAssertionAmongTheInjectedHeaders(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 140, 40)
	drive(t, m, eventsMsg{events: []audit.Event{detailedEvent()}})
	drive(t, m, keys("tab enter")...)
	c := ansi.Strip(pagerOf(t, m).GetContent())
	_, injected, _ := strings.Cut(c, "Headers injected")
	injected, _, _ = strings.Cut(injected, "Headers stripped")
	if !strings.Contains(injected, "X-Authdev-Assertion: signed ES256 JWT (decoded below)") || !strings.Contains(injected, "X-Remote-User: bob@example.com") {
		t.Errorf("the injected headers:\n%s", injected)
	}
}

func TestThePagerFooterSaysWhichLinesShow(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	drive(t, m, eventsMsg{events: []audit.Event{detailedEvent()}})
	drive(t, m, keys("tab enter")...)
	shown := regexp.MustCompile(`^lines (\d+)–(\d+) of (\d+) · ↑/k up`)
	if f := shown.FindStringSubmatch(lastLine(plain(m))); f == nil || f[1] != "1" {
		t.Errorf("footer %q, want the lines shown from the first, then the keys", lastLine(plain(m)))
	}
	drive(t, m, press("G"))
	if f := shown.FindStringSubmatch(lastLine(plain(m))); f == nil || f[2] != f[3] {
		t.Errorf("footer at the bottom %q, want the last line shown", lastLine(plain(m)))
	}
}

func TestTabCyclesThroughThePanesBothWays(t *testing.T) {
	m := newTestModel(t, newFakeStack(), 80, 24)
	for i, want := range []int{paneRequests, panePersonas, paneRequests} {
		drive(t, m, press("tab"))
		if m.focus != want {
			t.Fatalf("after %d tabs the focus is on pane %d, want %d", i+1, m.focus, want)
		}
	}
	drive(t, m, keys("shift+tab shift+tab")...)
	if m.focus != paneRequests {
		t.Errorf("two shift+tabs from the requests pane: focus on %d", m.focus)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func TestTheDetailShowsTheNSConfAuditMessagesOnlyWhenThereAreSome(t *testing.T) {
	e := detailedEvent()
	e.Messages = []audit.PolicyMessage{{Policy: "admin-area", Level: "NOTICE", Text: "admin denied to bob@example.com"}}
	c := ansi.Strip(NewStyles(true).detailContent(e, 120))
	if !strings.Contains(c, "Audit messages (ns.conf)\n  admin-area: admin denied to bob@example.com (NOTICE)") {
		t.Errorf("the detail lacks the audit message:\n%s", c)
	}
	if c := ansi.Strip(NewStyles(true).detailContent(detailedEvent(), 120)); strings.Contains(c, "Audit messages") {
		t.Errorf("an empty audit messages section:\n%s", c)
	}
}
