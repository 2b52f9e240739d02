package devproxy

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// FuzzCookieDecode feeds arbitrary Cookie headers through what the proxy
// does with one: find NSC_TMAS (cookieValue), then open and authenticate
// it (sealer.open) into a session and build its identity. Nothing may
// panic; the value found must come from the header; and nothing opens but
// the cookie the proxy sealed — any change to it, however small, is
// refused.
func FuzzCookieDecode(f *testing.F) {
	secret := make([]byte, CookieSecretSize)
	rand.Read(secret)
	s, err := newSealer(secret, rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	good, err := s.seal(SessionCookie, &session{ID: "sess-1", Env: "dev", Persona: "alice", Created: 1, Seen: 1,
		Claims: map[string]any{"email": "alice@example.com", "groups": []any{"eng-admins"}}})
	if err != nil {
		f.Fatal(err)
	}
	env := newEnvState(Environment{Name: "dev", Roles: map[string][]string{"eng-admins": {"admin"}}})
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)/2] ^= 1
	for _, seed := range []string{
		SessionCookie + "=" + good,
		"theme=dark; " + SessionCookie + "=" + good + "; lang=en",
		SessionCookie + "=\"" + good + "\"",
		SessionCookie + "=" + base64.RawURLEncoding.EncodeToString(flipped),
		SessionCookie + "=" + good[:len(good)-2],
		SessionCookie + "=",
		SessionCookie + "=\"",
		SessionCookie,
		"NSC_TMASX=" + good,
		"nsc_tmas=" + good,
		SessionCookie + "=" + strings.Repeat("A", 4096),
		";;;" + SessionCookie + "= " + good,
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := &http.Request{Header: http.Header{"Cookie": {header}}}
		v := cookieValue(r, SessionCookie)
		if v != "" && !strings.Contains(header, v) {
			t.Fatalf("cookieValue(%q) = %q, which is not in the header", header, v)
		}
		var sess session
		if err := s.open(SessionCookie, v, &sess); err != nil {
			if err != errBadCookie {
				t.Fatalf("open failed with %v, want errBadCookie", err)
			}
			return
		}
		if v != good {
			t.Fatalf("opened a cookie the proxy did not seal: %q", v)
		}
		if _, err := env.newCaller(sess.Claims, sess.Persona, nil); err != nil {
			t.Fatalf("the sealed session does not make an identity: %v", err)
		}
	})
}
