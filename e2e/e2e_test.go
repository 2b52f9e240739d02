package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/identity/identitytest"
)

// TestFastAPIBehindAuthdevUp runs one stack and walks what a developer does
// with it: log in from a browser, use the app, stream, log out, call the API
// with a token, and try to smuggle an identity past the proxy.
func TestFastAPIBehindAuthdevUp(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	ctx := newBrowser(t, s)

	t.Run("a browser logs in by picking a persona and sees the backend's answer", func(t *testing.T) {
		login(t, ctx, s, "carol")
		who := pageJSON(t, ctx)
		id := who["identity"].(map[string]any)
		if id["persona"] != "carol" || id["email"] != "carol@example.com" || id["env"] != "dev" {
			t.Fatalf("backend saw identity %v, want carol in dev", id)
		}
		if got := strList(id["roles"]); !slices.Equal(got, []string{"viewer"}) {
			t.Fatalf("roles = %q, want [viewer]", got)
		}
		headers := headerPairs(who)
		if v := headerValues(headers, "x-remote-user"); !slices.Equal(v, []string{"carol@example.com"}) {
			t.Errorf("X-Remote-User at the backend = %q", v)
		}
		for _, c := range headerValues(headers, "cookie") {
			if strings.Contains(c, "NSC_TMAS") {
				t.Errorf("the session cookie reached the backend: %q", c)
			}
		}
	})

	t.Run("the proxy's policy keeps a viewer out of the admin area", func(t *testing.T) {
		if body := visit(t, ctx, s.proxyURL+"/admin/users"); !strings.Contains(body, "admin-area") {
			t.Fatalf("the 403 page does not name the policy admin-area:\n%s", body)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(s.proxyURL+"/reports/q3")); err != nil {
			t.Fatal(err)
		}
		if rep := pageJSON(t, ctx); rep["report"] != "q3" || rep["reader"] != "carol@example.com" {
			t.Fatalf("/reports/q3 = %v", rep)
		}
	})

	t.Run("a browser client-side request cannot add identity headers", func(t *testing.T) {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/", {headers: {
			"Accept": "application/json",
			"X-Remote-User": "alice@example.com",
			"X_Remote_Roles": "admin",
			"x-authdev-assertion": "forged"}}).then(r => r.text())`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		var who map[string]any
		if err := json.Unmarshal([]byte(raw), &who); err != nil {
			t.Fatalf("fetch answered %s", raw)
		}
		checkOnlyProxyHeaders(t, who, "carol@example.com", "viewer")
	})

	t.Run("websockets and server-sent events pass through the proxy", func(t *testing.T) {
		msgs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`new Promise((resolve, reject) => {
			const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws");
			const got = [];
			ws.onmessage = e => {
				got.push(e.data);
				if (got.length === 1) ws.send("ping through authdev");
				if (got.length === 2) { ws.close(); resolve(got); }
			};
			ws.onclose = e => { if (got.length < 2) reject(new Error("closed with " + e.code)); };
		})`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("websocket: %v", err)
		}
		if len(msgs) != 2 || !strings.Contains(msgs[0], "carol@example.com") || msgs[1] != "ping through authdev" {
			t.Fatalf("websocket messages = %q", msgs)
		}

		// Causality rather than a stopwatch: the browser holds the first
		// event before the backend has produced the last one.
		res, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`new Promise((resolve, reject) => {
			const es = new EventSource("/events?count=3&interval=1");
			let first = 0;
			es.addEventListener("tick", e => {
				const d = JSON.parse(e.data);
				if (d.n === 1) first = Date.now() / 1000;
				if (d.n === 3) { es.close(); resolve({first_received: first, last_sent: d.time}); }
			});
			es.onerror = () => { es.close(); reject(new Error("event stream failed")); };
		})`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		if res["first_received"] == 0 || res["first_received"] >= res["last_sent"] {
			t.Fatalf("first event received at %.3f, last sent at %.3f: the proxy buffered the stream", res["first_received"], res["last_sent"])
		}
	})

	t.Run("logout ends the session and the next visit asks for a persona again", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.proxyURL+"/cgi/tmlogout")); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(s.proxyURL+"/")); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`button.persona[value="alice"]`))); err != nil {
			t.Fatalf("after logout the proxy did not send the browser to the persona picker (at %s): %v", location(t, ctx), err)
		}
		login(t, ctx, s, "alice")
		if err := chromedp.Do(ctx, chromedp.Navigate(s.proxyURL+"/admin/users")); err != nil {
			t.Fatal(err)
		}
		if got := pageJSON(t, ctx); got["requested_by"] != "alice@example.com" {
			t.Fatalf("/admin/users as alice = %v", got)
		}
	})

	t.Run("an API client with a bearer token from the IdP", func(t *testing.T) {
		alice, carol := s.codeGrantToken(t, "alice"), s.codeGrantToken(t, "carol")
		tests := []struct {
			name       string
			token      string
			path       string
			wantStatus int
			wantField  string
			wantValue  string
		}{
			{"alice lists the users", alice, "/admin/users", 200, "requested_by", "alice@example.com"},
			{"carol reads a report", carol, "/reports/q3", 200, "reader", "carol@example.com"},
			{"carol is denied the admin area by the proxy", carol, "/admin/users", 403, "", ""},
			{"a tampered token is refused", tamper(t, alice), "/", 401, "", ""},
			{"no token and no session is a 401 for an API client", "", "/", 401, "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", s.proxyURL+tt.path, nil)
				req.Header.Set("Accept", "application/json")
				if tt.token != "" {
					req.Header.Set("Authorization", "Bearer "+tt.token)
				}
				expectJSON(t, s.client, req, tt.wantStatus, tt.wantField, tt.wantValue)
			})
		}
	})

	t.Run("client-sent identity headers never reach the backend", func(t *testing.T) {
		carol := s.codeGrantToken(t, "carol")
		forged := forgeAssertion(t, s, "alice", "admin")
		tests := []struct {
			name    string
			headers [][2]string
		}{
			{"X-Remote-User as sent by a client", [][2]string{{"X-Remote-User", "alice@example.com"}}},
			{"lower case", [][2]string{{"x-remote-user", "alice@example.com"}}},
			{"upper case", [][2]string{{"X-REMOTE-USER", "alice@example.com"}}},
			{"mixed case", [][2]string{{"x-ReMoTe-uSeR", "alice@example.com"}}},
			{"underscores", [][2]string{{"X_Remote_User", "alice@example.com"}}},
			{"lower case underscores", [][2]string{{"x_remote_user", "alice@example.com"}}},
			{"repeated in every spelling", [][2]string{
				{"X-Remote-User", "alice@example.com"}, {"X-Remote-User", "bob@example.com"},
				{"x_remote_user", "alice@example.com"}, {"X_REMOTE_USER", "eve@partner.example"}}},
			{"roles and groups", [][2]string{
				{"X-Remote-Roles", "admin"}, {"x_remote_roles", "admin"}, {"X-Remote-Groups", "eng-admins"}, {"X_Remote_Groups", "eng-admins"}}},
			{"a forged assertion", [][2]string{{"X-Authdev-Assertion", forged}}},
			{"a forged assertion with underscores", [][2]string{{"x_authdev_assertion", forged}}},
			{"forged assertions repeated", [][2]string{{"X-Authdev-Assertion", forged}, {"X-AUTHDEV-ASSERTION", forged}, {"X_Authdev_Assertion", forged}}},
			{"an alg none assertion", [][2]string{{"X-Authdev-Assertion", algNone(t, s, "alice", "admin")}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", s.proxyURL+"/", nil)
				req.Header.Set("Accept", "application/json")
				req.Header.Set("Authorization", "Bearer "+carol)
				for _, h := range tt.headers {
					// Set the map directly: Header.Add would canonicalise the
					// name, and the point is to send it as written.
					req.Header[h[0]] = append(req.Header[h[0]], h[1])
				}
				status, body := do(t, s.client, req)
				if status != 200 {
					t.Fatalf("status = %d: %s", status, body)
				}
				var who map[string]any
				if err := json.Unmarshal(body, &who); err != nil {
					t.Fatal(err)
				}
				checkOnlyProxyHeaders(t, who, "carol@example.com", "viewer")
			})
		}
	})

	t.Run("the backend refuses a forged assertion sent around the proxy", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.appURL+"/admin/users", nil)
		req.Header.Set(identity.Header, forgeAssertion(t, s, "alice", "admin"))
		status, body := do(t, http.DefaultClient, req)
		if status != 401 {
			t.Fatalf("FastAPI answered %d to a forged assertion: %s", status, body)
		}
	})

	// Last: it changes the active environment for everything after it.
	t.Run("authdev as switches the browser's persona and environment without a new login", func(t *testing.T) {
		if _, errOut, code := s.authdevCmd(t, "as", "bob", "--env", "prod"); code != 0 {
			t.Fatalf("authdev as bob --env prod: exit %d: %s", code, errOut)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(s.proxyURL+"/")); err != nil {
			t.Fatal(err)
		}
		waitAtProxy(t, ctx, s)
		id := pageJSON(t, ctx)["identity"].(map[string]any)
		// In prod bob is in sg-prod-developers: developer, not admin.
		if id["persona"] != "bob" || id["env"] != "prod" || !slices.Equal(strList(id["roles"]), []string{"developer"}) {
			t.Fatalf("after authdev as bob --env prod the backend saw %v", id)
		}
		if body := visit(t, ctx, s.proxyURL+"/admin/users"); !strings.Contains(body, "admin-area") {
			t.Fatalf("bob in prod reached the admin area:\n%s", body)
		}
	})
}

// login goes to the proxy, is sent to the IdP's persona picker, picks
// persona, and waits to be back at the proxy.
func login(t *testing.T, ctx context.Context, s *stack, persona string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(s.proxyURL+"/")); err != nil {
		t.Fatal(err)
	}
	button := chromedp.CSS(`button.persona[value="` + persona + `"]`)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(button)); err != nil {
		t.Fatalf("no persona picker at %s: %v", location(t, ctx), err)
	}
	if !strings.HasPrefix(location(t, ctx), s.issuer) {
		t.Fatalf("the picker is at %s, not at the IdP %s", location(t, ctx), s.issuer)
	}
	if err := chromedp.Do(ctx, chromedp.Click(button)); err != nil {
		t.Fatal(err)
	}
	waitAtProxy(t, ctx, s)
}

// waitAtProxy waits until the browser has followed the login redirects
// back to a page of the proxy's upstream.
func waitAtProxy(t *testing.T, ctx context.Context, s *stack) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for loc := location(t, ctx); !strings.HasPrefix(loc, s.proxyURL+"/") || strings.HasPrefix(loc, s.proxyURL+"/oauth/"); loc = location(t, ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("the browser is at %s, not back at the proxy", loc)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
}

// checkOnlyProxyHeaders asserts that the backend's view of a request holds
// exactly the proxy's identity headers and one assertion, which verified as
// the expected caller.
func checkOnlyProxyHeaders(t *testing.T, who map[string]any, email, role string) {
	t.Helper()
	id, _ := who["identity"].(map[string]any)
	if id["email"] != email || !slices.Equal(strList(id["roles"]), []string{role}) {
		t.Errorf("verified identity = %v, want %s with role %s", id, email, role)
	}
	headers := headerPairs(who)
	if v := headerValues(headers, "x-remote-user"); !slices.Equal(v, []string{email}) {
		t.Errorf("X-Remote-User (any spelling) at the backend = %q, want only %q", v, email)
	}
	if v := headerValues(headers, "x-remote-roles"); !slices.Equal(v, []string{role}) {
		t.Errorf("X-Remote-Roles (any spelling) at the backend = %q, want only %q", v, role)
	}
	if v := headerValues(headers, "x-remote-groups"); len(v) != 1 || strings.Contains(v[0], "eng-admins") {
		t.Errorf("X-Remote-Groups (any spelling) at the backend = %q, want the proxy's one", v)
	}
	if v := headerValues(headers, "x-authdev-assertion"); len(v) != 1 {
		t.Errorf("%d assertions (any spelling) reached the backend, want the proxy's one", len(v))
	}
}

// headerPairs reads the FastAPI example's list of received headers.
func headerPairs(who map[string]any) [][2]string {
	raw, _ := who["headers"].([]any)
	out := make([][2]string, 0, len(raw))
	for _, p := range raw {
		pair, _ := p.([]any)
		if len(pair) == 2 {
			k, _ := pair[0].(string)
			v, _ := pair[1].(string)
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// headerValues returns every value of name, matching as a backend might:
// case-blind and with '_' the same as '-'.
func headerValues(pairs [][2]string, name string) []string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", "-") }
	var out []string
	for _, p := range pairs {
		if norm(p[0]) == norm(name) {
			out = append(out, p[1])
		}
	}
	return out
}

func strList(v any) []string {
	raw, _ := v.([]any)
	out := make([]string, 0, len(raw))
	for _, x := range raw {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// expectJSON sends req and checks the status and, when field is not "",
// one field of the JSON answer.
func expectJSON(t *testing.T, c *http.Client, req *http.Request, wantStatus int, field, want string) {
	t.Helper()
	status, body := do(t, c, req)
	if status != wantStatus {
		t.Fatalf("%s %s: status = %d, want %d: %s", req.Method, req.URL.Path, status, wantStatus, body)
	}
	if field == "" {
		return
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil || got[field] != want {
		t.Fatalf("%s %s: %s = %v, want %q (body %s)", req.Method, req.URL.Path, field, got[field], want, body)
	}
}

func do(t *testing.T, c *http.Client, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// forgeAssertion signs an assertion the way the proxy would, with the right
// issuer and audience, but with a key of the attacker's.
func forgeAssertion(t *testing.T, s *stack, persona, role string) string {
	t.Helper()
	now := time.Now()
	return identitytest.Sign(t, identitytest.NewKey(t), "forged", identity.Claims{
		Issuer: s.proxyURL, Audience: jwt.Audience{upstreamName},
		Subject: persona, Email: persona + "@example.com", Roles: []string{role}, Persona: persona, Env: "dev",
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute)), ID: "forged",
	})
}

func algNone(t *testing.T, s *stack, persona, role string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now().Unix()
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(map[string]any{
		"iss": s.proxyURL, "aud": upstreamName, "sub": persona, "email": persona + "@example.com",
		"roles": []string{role}, "iat": now, "exp": now + 60,
	}) + "."
}

// tamper changes a token's payload and keeps its signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["email"] = "mallory@example.com"
	b, _ := json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}
