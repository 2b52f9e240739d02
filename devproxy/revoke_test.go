package devproxy_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/state"
)

// A cookie ended at /cgi/tmlogout stays ended after the proxy restarts with
// the same cookie secret: the revocation is in the state store, and leaves
// it once the session could not be used anyway.
func TestLogoutSurvivesARestartUntilTheSessionsHardExpiry(t *testing.T) {
	store := state.NewMemory()
	var opts devproxy.Options
	e := start(t, setup{persona: "alice", upstreams: upstreamTo(echoBackend(t, "api").URL),
		tweak: func(o *devproxy.Options) { o.State = store; opts = *o }})
	login := func(base string) string {
		t.Helper()
		b := newBrowser(t)
		readSeen(t, get(t, b.Client, base+"/"))
		u, _ := url.Parse(base)
		for _, ck := range b.Jar.Cookies(u) {
			if ck.Name == devproxy.SessionCookie {
				return ck.Value
			}
		}
		t.Fatal("no session cookie after the login")
		return ""
	}
	ended, kept := login(e.url), login(e.url)
	resp := get(t, noFollow(nil), e.url+devproxy.LogoutPath, "Cookie", devproxy.SessionCookie+"="+ended)
	resp.Body.Close()

	// The same proxy, restarted: a new process with the same secrets and store.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.PublicURL = "http://" + ln.Addr().String()
	p, err := devproxy.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ln)
	t.Cleanup(func() { p.Shutdown(context.Background()) })
	status := func(cookie string) int {
		resp := get(t, noFollow(nil), opts.PublicURL+"/", "Cookie", devproxy.SessionCookie+"="+cookie)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(ended); got != http.StatusFound {
		t.Errorf("the logged-out cookie after a restart: status %d, want 302 to a new login", got)
	}
	if got := status(kept); got != http.StatusOK {
		t.Errorf("another session after a restart: status %d, want 200", got)
	}

	// Past the hard expiry the entry goes at the next logout.
	e.clock.Advance(31 * time.Minute)
	third := login(e.url)
	resp = get(t, noFollow(nil), e.url+devproxy.LogoutPath, "Cookie", devproxy.SessionCookie+"="+third)
	resp.Body.Close()
	raw, err := store.Get(devproxy.RevokedSessionsKey)
	if err != nil {
		t.Fatal(err)
	}
	var revoked map[string]int64
	if err := json.Unmarshal(raw, &revoked); err != nil {
		t.Fatalf("%s is not a JSON object: %v: %s", devproxy.RevokedSessionsKey, err, raw)
	}
	if len(revoked) != 1 {
		t.Errorf("the store holds %d revocations, want only the live session's: %s", len(revoked), raw)
	}
}

func TestAnUnreadableRevocationListIsAnErrorAtStart(t *testing.T) {
	store := state.NewMemory()
	store.Set(devproxy.RevokedSessionsKey, []byte("not json"))
	var opts devproxy.Options
	start(t, setup{upstreams: upstreamTo(echoBackend(t, "api").URL), tweak: func(o *devproxy.Options) { opts = *o }})
	opts.State = store
	if _, err := devproxy.New(opts); err == nil {
		t.Fatal("New accepted an unreadable revocation list")
	}
}
