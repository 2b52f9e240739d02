package stack

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/state"
)

// `authdev up` restarted with the same state store keeps a logged-out
// cookie ended, while its cookie secret keeps other sessions alive.
func TestALogoutHoldsAcrossARestartOfUp(t *testing.T) {
	store := state.NewMemory()
	first := startUp(t, Options{Persona: "carol", Store: store})
	c := first.client(t)
	if code := getJSON(t, c, first.ProxyURL()+"/", nil, nil); code != http.StatusOK {
		t.Fatalf("login: %d", code)
	}
	u, _ := url.Parse(first.ProxyURL())
	var cookie string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == devproxy.SessionCookie {
			cookie = ck.Value
		}
	}
	noFollow := *c
	noFollow.Jar = nil
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hdr := http.Header{"Cookie": {devproxy.SessionCookie + "=" + cookie}}
	if code := getJSON(t, &noFollow, first.ProxyURL()+devproxy.LogoutPath, hdr, nil); code != http.StatusFound {
		t.Fatalf("logout: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	first.Shutdown(ctx)

	second := startUp(t, Options{Persona: "carol", Store: store})
	if code := getJSON(t, &noFollow, second.ProxyURL()+"/", hdr, nil); code != http.StatusFound {
		t.Fatalf("the logged-out cookie after a restart: status %d, want 302 to a new login", code)
	}
}
