package devproxy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/identity"
)

func verifierFor(t *testing.T, e *env, audience string) *identity.Verifier {
	t.Helper()
	v, err := identity.New(identity.Options{Issuer: e.url, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestBrowserLoginOfTheActivePersonaReachesTheBackendWithItsIdentity(t *testing.T) {
	backend := echoBackend(t, "api")
	e := start(t, setup{persona: "alice", upstreams: upstreamTo(backend.URL)})
	b := newBrowser(t)

	s := readSeen(t, get(t, b.Client, e.url+"/hello?x=1"))

	if s.Path != "/hello" || s.Query != "x=1" {
		t.Errorf("backend got %s?%s, want the original /hello?x=1", s.Path, s.Query)
	}
	if !slices.ContainsFunc(b.visited, func(u string) bool {
		return strings.Contains(u, "login_hint=alice") && strings.HasPrefix(u, e.idp.Issuer("dev"))
	}) {
		t.Errorf("no silent login of alice at the dev issuer: visited %v", b.visited)
	}
	for name, want := range map[string]string{
		"X-Remote-User":   "alice@example.com",
		"X-Remote-Groups": "eng-admins",
		"X-Remote-Roles":  "admin",
	} {
		if got := s.header(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want [%q]", name, got, want)
		}
	}
	assertion := s.header(identity.Header)
	if len(assertion) != 1 {
		t.Fatalf("backend got %d assertions", len(assertion))
	}
	id, err := verifierFor(t, e, "api").Verify(context.Background(), assertion[0])
	if err != nil {
		t.Fatalf("assertion does not verify with the proxy's JWKS: %v", err)
	}
	if id.Email != "alice@example.com" || id.Persona != "alice" || id.Env != "dev" || !id.HasRole("admin") ||
		id.Expiry.Time().Sub(id.IssuedAt.Time()) != identity.Lifetime || id.ID == "" || id.Subject == "" {
		t.Errorf("assertion claims: %+v", id.Claims)
	}
	if got := s.header("Cookie"); slices.ContainsFunc(got, func(c string) bool { return strings.Contains(c, "NSC_") }) {
		t.Errorf("backend saw the proxy's cookies: %q", got)
	}
	var login []audit.Event
	for _, ev := range e.events.of(audit.KindLogin) {
		if ev.Via == "session" {
			login = append(login, ev)
		}
	}
	if len(login) != 1 || login[0].Persona != "alice" || login[0].Env != "dev" {
		t.Errorf("login events: %+v", login)
	}
}

func TestSessionCookieIsHttpOnlyLaxAndNotSecureOverPlainHTTP(t *testing.T) {
	e := start(t, setup{persona: "bob", upstreams: upstreamTo(echoBackend(t, "api").URL)})
	b := newBrowser(t)
	readSeen(t, get(t, b.Client, e.url+"/"))
	u, _ := url.Parse(e.url)
	// The jar hides attributes: log in again without following the callback.
	c := noFollow(b.Jar)
	resp := get(t, c, e.url+"/", "Cookie", "NSC_TMAS=forged")
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	for range 5 {
		if strings.HasPrefix(loc, e.url+devproxy.CallbackPath) || strings.HasPrefix(loc, devproxy.CallbackPath) {
			break
		}
		resp = get(t, c, loc)
		resp.Body.Close()
		loc = resp.Header.Get("Location")
	}
	resp = get(t, c, loc)
	resp.Body.Close()
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == devproxy.SessionCookie {
			session = ck
		}
	}
	if session == nil {
		t.Fatalf("callback set no session cookie (status %d, cookies %v)", resp.StatusCode, resp.Cookies())
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure || session.Path != "/" {
		t.Errorf("cookie attributes: %+v", session)
	}
	if len(b.Jar.Cookies(u)) == 0 {
		t.Error("browser holds no cookie for the proxy")
	}
}

func TestRequestsWithoutSessionGetRedirectOr401(t *testing.T) {
	backend := echoBackend(t, "api")
	e := start(t, setup{persona: "alice", upstreams: []devproxy.Upstream{
		{Name: "web", Prefix: "/", Targets: []string{backend.URL}},
		{Name: "api", Prefix: "/api", Targets: []string{backend.URL}, API: true},
	}})
	c := noFollow(nil)
	tests := []struct {
		name   string
		path   string
		header []string
		want   int
	}{
		{"a browser navigation is sent to the IdP", "/page", []string{"Accept", "text/html,application/xhtml+xml,*/*"}, http.StatusFound},
		{"a client accepting anything is sent to the IdP", "/page", nil, http.StatusFound},
		{"a client that accepts JSON but not HTML gets 401", "/page", []string{"Accept", "application/json"}, http.StatusUnauthorized},
		{"a client that accepts JSON and HTML is sent to the IdP", "/page", []string{"Accept", "application/json, text/html"}, http.StatusFound},
		{"a request with an Authorization header gets 401", "/page", []string{"Authorization", "Basic YTpi"}, http.StatusUnauthorized},
		{"a request to an api upstream gets 401", "/api/items", []string{"Accept", "text/html"}, http.StatusUnauthorized},
		{"a path that only starts like the api prefix is not the api", "/apix", nil, http.StatusFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, c, e.url+tt.path, tt.header...)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			switch tt.want {
			case http.StatusFound:
				if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, e.idp.Issuer("dev")) ||
					!strings.Contains(loc, "code_challenge_method=S256") || !strings.Contains(loc, "nonce=") || !strings.Contains(loc, "state=") {
					t.Errorf("Location %q is not an authorization request with PKCE, nonce and state", loc)
				}
			case http.StatusUnauthorized:
				if ch := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer ") {
					t.Errorf("WWW-Authenticate %q", ch)
				}
			}
		})
	}
}

func TestSwitchingTheActivePersonaReestablishesTheBrowserSession(t *testing.T) {
	e := start(t, setup{persona: "alice", upstreams: upstreamTo(echoBackend(t, "api").URL)})
	b := newBrowser(t)
	if got := readSeen(t, get(t, b.Client, e.url+"/")).header("X-Remote-User"); got[0] != "alice@example.com" {
		t.Fatalf("first user %v", got)
	}
	if err := e.proxy.SetActive(devproxy.Active{Persona: "bob"}); err != nil {
		t.Fatal(err)
	}
	b.visited = nil
	s := readSeen(t, get(t, b.Client, e.url+"/reports?q=1"))
	if got := s.header("X-Remote-User"); len(got) != 1 || got[0] != "bob@example.com" {
		t.Fatalf("after the switch the backend sees %v, want bob", got)
	}
	if s.Path != "/reports" || s.Query != "q=1" {
		t.Errorf("the switch lost the URL: %s?%s", s.Path, s.Query)
	}
	if !slices.ContainsFunc(b.visited, func(u string) bool {
		return strings.Contains(u, "login_hint=bob") && strings.Contains(u, "prompt=login")
	}) {
		t.Errorf("no silent login of bob over the IdP session: %v", b.visited)
	}
	if err := e.proxy.SetActive(devproxy.Active{Persona: "bob", Env: "prod"}); err != nil {
		t.Fatal(err)
	}
	s = readSeen(t, get(t, b.Client, e.url+"/"))
	id, err := verifierFor(t, e, "api").Verify(context.Background(), s.header(identity.Header)[0])
	if err != nil || id.Env != "prod" || id.Persona != "bob" {
		t.Fatalf("after switching environment: %+v, %v", id, err)
	}
	if err := e.proxy.SetActive(devproxy.Active{Env: "nope"}); err == nil || !strings.Contains(err.Error(), "dev, prod") {
		t.Errorf("unknown environment: %v", err)
	}
}

func TestAPIRequestOfAnotherPersonaIsTold401ToReload(t *testing.T) {
	e := start(t, setup{persona: "alice", upstreams: upstreamTo(echoBackend(t, "api").URL)})
	b := newBrowser(t)
	readSeen(t, get(t, b.Client, e.url+"/"))
	e.proxy.SetActive(devproxy.Active{Persona: "bob"})
	resp := get(t, b.Client, e.url+"/data", "Accept", "application/json")
	text := body(resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(text, "bob") {
		t.Fatalf("status %d: %s", resp.StatusCode, text)
	}
}

func TestPolicyDenialIsA403NamingThePolicy(t *testing.T) {
	e := start(t, setup{persona: "bob", upstreams: upstreamTo(echoBackend(t, "api").URL)})
	b := newBrowser(t)
	resp := get(t, b.Client, e.url+"/admin/users")
	text := body(resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(text, "admin-area") || !strings.Contains(text, "bob@example.com") {
		t.Fatalf("status %d: %s", resp.StatusCode, text)
	}
	resp = get(t, b.Client, e.url+"/admin/users", "Accept", "application/json")
	var j map[string]any
	json.NewDecoder(resp.Body).Decode(&j)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(j["detail"].(string), `"admin-area"`) {
		t.Fatalf("JSON denial: %d %v", resp.StatusCode, j)
	}
	var deny []audit.Event
	for _, ev := range e.events.of(audit.KindRequest) {
		if ev.Decision == "deny" {
			deny = append(deny, ev)
		}
	}
	if len(deny) != 2 || deny[0].Policy != "admin-area" || deny[0].Status != 403 || deny[0].Persona != "bob" {
		t.Fatalf("deny events: %+v", deny)
	}
	if readSeen(t, get(t, b.Client, e.url+"/reports")).Path != "/reports" {
		t.Fatal("an allowed path did not reach the backend")
	}
}

func TestLogoutEndsTheProxySessionAndTheIdPSession(t *testing.T) {
	e := start(t, setup{upstreams: upstreamTo(echoBackend(t, "api").URL)})
	b := newBrowser(t)
	// No active persona: the IdP shows its picker; choose as a user would.
	c := noFollow(b.Jar)
	resp := get(t, c, e.url+"/dashboard")
	resp.Body.Close()
	authz := resp.Header.Get("Location")
	form := url.Values{"persona": {"bob"}}
	resp, err := b.PostForm(authz, form)
	if err != nil {
		t.Fatal(err)
	}
	s := readSeen(t, resp)
	if s.Path != "/dashboard" || s.header("X-Remote-User")[0] != "bob@example.com" {
		t.Fatalf("after picking bob: %+v", s)
	}
	u, _ := url.Parse(e.url)
	var old string
	for _, ck := range b.Jar.Cookies(u) {
		if ck.Name == devproxy.SessionCookie {
			old = ck.Value
		}
	}

	resp = get(t, c, e.url+devproxy.LogoutPath)
	resp.Body.Close()
	end, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(end.String(), e.idp.Issuer("dev")) || end.Query().Get("id_token_hint") == "" ||
		end.Query().Get("post_logout_redirect_uri") != e.url+devproxy.LoggedOutPath {
		t.Fatalf("logout did not go to the IdP's end_session_endpoint: %s", end)
	}
	resp = get(t, b.Client, end.String())
	if text := body(resp); resp.StatusCode != 200 || !strings.Contains(text, "Logged out") || resp.Request.URL.Path != devproxy.LoggedOutPath {
		t.Fatalf("after IdP logout: %d %s %s", resp.StatusCode, resp.Request.URL, text)
	}
	// The old cookie, replayed, no longer works.
	resp = get(t, noFollow(nil), e.url+"/dashboard", "Cookie", devproxy.SessionCookie+"="+old)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("replayed cookie after logout: status %d", resp.StatusCode)
	}
	// Nor does the IdP session: a new login shows the picker again.
	resp = get(t, b.Client, e.url+"/dashboard")
	if text := body(resp); !strings.Contains(text, "bob") || resp.Request.URL.Host == u.Host {
		t.Fatalf("expected the IdP's picker, got %s: %.200s", resp.Request.URL, text)
	}
	if ev := e.events.of(audit.KindLogout); len(ev) == 0 || ev[0].Persona != "bob" {
		t.Fatalf("logout events %+v", ev)
	}
}

func TestForgedTamperedAndExpiredCookiesAreRefused(t *testing.T) {
	e := start(t, setup{persona: "alice", upstreams: upstreamTo(echoBackend(t, "api").URL)})
	b := newBrowser(t)
	readSeen(t, get(t, b.Client, e.url+"/"))
	u, _ := url.Parse(e.url)
	var good string
	for _, ck := range b.Jar.Cookies(u) {
		if ck.Name == devproxy.SessionCookie {
			good = ck.Value
		}
	}
	flip := []byte(good)
	flip[len(flip)/2] ^= 0x01
	if flip[len(flip)/2] == '-' || flip[len(flip)/2] == '_' {
		flip[len(flip)/2] = 'A'
	}
	other := start(t, setup{persona: "alice", upstreams: upstreamTo(echoBackend(t, "api").URL)})
	b2 := newBrowser(t)
	readSeen(t, get(t, b2.Client, other.url+"/"))
	u2, _ := url.Parse(other.url)
	var foreign string
	for _, ck := range b2.Jar.Cookies(u2) {
		if ck.Name == devproxy.SessionCookie {
			foreign = ck.Value
		}
	}

	c := noFollow(nil)
	for _, tt := range []struct{ name, cookie string }{
		{"a random value", "bm90IGEgc2Vzc2lvbg"},
		{"a tampered session", string(flip)},
		{"a session sealed by another proxy's secret", foreign},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, c, e.url+"/", "Cookie", devproxy.SessionCookie+"="+tt.cookie, "Accept", "application/json")
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
		})
	}
	resp := get(t, c, e.url+"/", "Cookie", devproxy.SessionCookie+"="+good)
	if s := readSeen(t, resp); s.header("X-Remote-User")[0] != "alice@example.com" {
		t.Fatal("the good cookie stopped working")
	}
	e.clock.Advance(31 * time.Minute)
	resp = get(t, c, e.url+"/", "Cookie", devproxy.SessionCookie+"="+good)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("a session idle for 31 minutes: status %d, want a new login", resp.StatusCode)
	}
	refused := e.events.of(audit.KindTokenRefused)
	if len(refused) < 4 {
		t.Fatalf("refusals recorded: %+v", refused)
	}
}

func TestIdleSessionStaysAliveWhileUsedButEndsAtTheSessionTimeout(t *testing.T) {
	e := start(t, setup{persona: "alice", upstreams: upstreamTo(echoBackend(t, "api").URL), tweak: func(o *devproxy.Options) {
		o.SessionTimeout, o.IdleTimeout = 20*time.Minute, 5*time.Minute
	}})
	b := newBrowser(t)
	readSeen(t, get(t, b.Client, e.url+"/"))
	b.visited = nil
	for range 3 { // 12 minutes of activity, never idle for 5
		e.clock.Advance(4 * time.Minute)
		readSeen(t, get(t, b.Client, e.url+"/"))
	}
	if len(b.visited) != 0 {
		t.Fatalf("an active session was sent to log in again: %v", b.visited)
	}
	for range 2 { // past 20 minutes since login
		e.clock.Advance(4 * time.Minute)
		readSeen(t, get(t, b.Client, e.url+"/"))
	}
	if len(b.visited) == 0 {
		t.Fatal("the session outlived its 20 minute timeout")
	}
}

func TestReturnURLNeverLeavesTheProxy(t *testing.T) {
	e := start(t, setup{persona: "alice", upstreams: upstreamTo(echoBackend(t, "api").URL)})
	for _, tt := range []struct{ name, ret, want string }{
		{"an absolute URL", "https://evil.example/x", "/"},
		{"a scheme-relative URL", "//evil.example/x", "/"},
		{"a backslash URL", `/\evil.example`, "/"},
		{"a javascript URL", "javascript:alert(1)", "/"},
		{"a path on the proxy", "/reports?q=1", "/reports?q=1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			c := noFollow(b.Jar)
			resp := get(t, c, e.url+devproxy.InternalPrefix+"login?return="+url.QueryEscape(tt.ret))
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			for !strings.Contains(loc, devproxy.CallbackPath) {
				resp = get(t, c, loc)
				resp.Body.Close()
				if loc = resp.Header.Get("Location"); loc == "" {
					t.Fatalf("login stopped at %s", resp.Request.URL)
				}
			}
			resp = get(t, c, loc)
			resp.Body.Close()
			if got := resp.Header.Get("Location"); got != tt.want {
				t.Fatalf("after login the proxy sends the browser to %q, want %q", got, tt.want)
			}
		})
	}
	c := noFollow(nil)
	resp := get(t, c, e.url+"//evil.example/x")
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusPermanentRedirect || loc != "/evil.example/x" {
		t.Fatalf("a path starting with // is answered %d %q, want a redirect to its clean form", resp.StatusCode, loc)
	}
}

func TestCallbackWithoutMatchingStateIsRefused(t *testing.T) {
	e := start(t, setup{persona: "alice", upstreams: upstreamTo(echoBackend(t, "api").URL)})
	for _, q := range []string{"", "?code=abc&state=0123456789abcdef", "?error=access_denied&state=0123456789abcdef"} {
		resp := get(t, noFollow(nil), e.url+devproxy.CallbackPath+q)
		text := body(resp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, "Login failed") {
			t.Errorf("callback%s: %d %.200s", q, resp.StatusCode, text)
		}
	}
}

func TestANewLoginWhileTheIdPIsDownGetsAPageNamingIt(t *testing.T) {
	backend := echoBackend(t, "api")
	e := start(t, setup{persona: "alice", upstreams: upstreamTo(backend.URL)})
	// A first login makes the proxy discover and remember the IdP.
	if resp := get(t, newBrowser(t).Client, e.url+"/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("first login: %d", resp.StatusCode)
	}
	e.stopIdP()
	e.clock.Advance(time.Minute) // past any cached probe

	resp := get(t, noFollow(nil), e.url+"/", "Accept", "text/html")
	text := body(resp)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d (Location %q), want 502: the browser must not be sent to a dead IdP", resp.StatusCode, resp.Header.Get("Location"))
	}
	idpHost := strings.TrimPrefix(e.idp.Issuer("dev"), "http://")
	idpHost = idpHost[:strings.Index(idpHost, "/")]
	if !strings.Contains(text, "cannot reach the identity provider at "+idpHost) || !strings.Contains(text, "authdev up") {
		t.Fatalf("the page does not name the IdP and how to start it:\n%s", text)
	}
}
