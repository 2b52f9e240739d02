package devproxy_test

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/authdev/authdev/devproxy"
)

// A user types localhost as often as 127.0.0.1: the login must come back to
// the name the browser used, which holds its login cookie, and the session
// must work there.
func TestLoginCompletesOnTheLoopbackNameTheBrowserUsed(t *testing.T) {
	tests := []struct {
		name   string
		listen string
		host   string // what the browser typed, with the port added
	}{
		{"localhost, while the proxy's URL says 127.0.0.1", "127.0.0.1:0", "localhost"},
		{"127.0.0.1, the proxy's own URL", "127.0.0.1:0", "127.0.0.1"},
		{"[::1], while the proxy's URL says 127.0.0.1", "[::1]:0", "[::1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", tt.listen)
			if err != nil {
				t.Skipf("no %s loopback on this machine: %v", tt.listen, err)
			}
			port := ln.Addr().(*net.TCPAddr).Port
			start(t, setup{persona: "alice", upstreams: upstreamTo(echoBackend(t, "api").URL), listener: ln,
				tweak: func(o *devproxy.Options) { o.PublicURL = "http://127.0.0.1:" + strconv.Itoa(port) }})
			base := "http://" + net.JoinHostPort(strings.Trim(tt.host, "[]"), strconv.Itoa(port))
			b := newBrowser(t)

			s := readSeen(t, get(t, b.Client, base+"/hello"))

			if got := s.header("X-Remote-User"); len(got) != 1 || got[0] != "alice@example.com" || s.Path != "/hello" {
				t.Fatalf("backend saw %s as %q", s.Path, got)
			}
			if !slices.ContainsFunc(b.visited, func(u string) bool { return strings.HasPrefix(u, base+devproxy.CallbackPath) }) {
				t.Errorf("the IdP did not send the browser back to %s: visited %v", base, b.visited)
			}
			// The session works on that name without another login.
			b.visited = nil
			readSeen(t, get(t, b.Client, base+"/again"))
			if len(b.visited) != 0 {
				t.Errorf("a second request logged in again: %v", b.visited)
			}
			resp := get(t, noFollow(b.Jar), base+devproxy.LogoutPath)
			resp.Body.Close()
			end, _ := url.Parse(resp.Header.Get("Location"))
			if got := end.Query().Get("post_logout_redirect_uri"); got != base+devproxy.LoggedOutPath {
				t.Errorf("logout returns to %q, want %q", got, base+devproxy.LoggedOutPath)
			}
			resp = get(t, b.Client, end.String())
			if text := body(resp); resp.StatusCode != http.StatusOK || resp.Request.URL.String() != base+devproxy.LoggedOutPath {
				t.Errorf("after the IdP's logout the browser is at %s (%d): %.200s", resp.Request.URL, resp.StatusCode, text)
			}
		})
	}
}
