package devproxy

import (
	"crypto/rand"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authdev/authdev/audit"
)

// TestAClientThatKeepsAnOldCookieIsReissuedOnlyOncePerRefresh: the sliding
// idle timeout re-issues the session cookie once per refresh interval. A
// client that does not store the new cookie (a script, a load tool) and
// sends the old one again must not get a fresh seal and Set-Cookie at
// every request — until the next interval, when it gets one again.
func TestAClientThatKeepsAnOldCookieIsReissuedOnlyOncePerRefresh(t *testing.T) {
	secret := make([]byte, CookieSecretSize)
	rand.Read(secret)
	keyPEM, _ := NewAssertionKey(rand.Reader)
	key, _ := ParseAssertionKey(keyPEM)
	now := time.Now()
	clock := func() time.Time { return now }
	p, err := New(Options{
		PublicURL: "http://127.0.0.1:8443", CookieSecret: secret, AssertionKey: key, Now: clock,
		Environments: []Environment{{Name: "dev", Issuer: "http://127.0.0.1:1/dev", ClientID: "authdev-proxy", Audience: "authdev"}},
		Upstreams:    []Upstream{{Name: "api", Prefix: "/", Targets: []string{"http://127.0.0.1:1"}}},
		Events:       func(audit.Event) {}, SessionTimeout: 8 * time.Hour, IdleTimeout: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := now.Add(-2 * p.refresh).Unix()
	old, err := p.sealSession(&session{ID: "s1", Env: "dev", Persona: "alice", Created: seen, Seen: seen,
		Claims: map[string]any{"email": "alice@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	act := &Active{Env: "dev", Persona: "alice"}
	setCookies := func() int {
		w := httptest.NewRecorder()
		if _, why := p.sessionIdentity(w, old, act, now); why != sessionOK {
			t.Fatalf("the old cookie was refused: %v", why)
		}
		return len(w.Result().Cookies())
	}
	if n := setCookies(); n != 1 {
		t.Fatalf("the first request after the refresh interval got %d cookies, want the re-issued one", n)
	}
	for i := 0; i < 3; i++ {
		if n := setCookies(); n != 0 {
			t.Fatalf("request %d with the same old cookie was re-issued again (%d cookies)", i+2, n)
		}
	}
	now = now.Add(p.refresh)
	if n := setCookies(); n != 1 {
		t.Fatalf("a refresh interval later, the old cookie got %d cookies, want it re-issued again", n)
	}
}
