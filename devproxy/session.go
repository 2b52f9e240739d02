package devproxy

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"time"
)

// session is what the NSC_TMAS cookie holds, sealed: enough to rebuild the
// identity without asking the IdP again, so sessions survive a restart of
// the proxy (the cookie secret lives in the state store).
type session struct {
	ID      string         `json:"id"`
	Env     string         `json:"env"`
	Persona string         `json:"p,omitempty"`
	Claims  map[string]any `json:"c"`
	// IDToken is the hint for RP-initiated logout; dropped when the
	// cookie would grow past what browsers keep.
	IDToken string `json:"t,omitempty"`
	// SAML names the SAML login of the session, for its logout.
	SAML    string `json:"sa,omitempty"`
	Created int64  `json:"ct"`
	Seen    int64  `json:"st"`
}

// maxCookie is the largest cookie value browsers reliably keep.
const maxCookie = 3800

// sessionEntry is a decoded cookie: the identity it proves and until when.
type sessionEntry struct {
	id      *caller
	s       session
	expires time.Time
}

func (p *Proxy) expiry(s *session) time.Time {
	hard := time.Unix(s.Created, 0).Add(p.sessionTTL)
	idle := time.Unix(s.Seen, 0).Add(p.idleTTL)
	if idle.Before(hard) {
		return idle
	}
	return hard
}

// sessionRefusal says why a cookie does not let a request through.
type sessionRefusal int

const (
	sessionOK        sessionRefusal = iota
	sessionForged                   // not sealed by this proxy
	sessionExpired                  // past the session or idle timeout
	sessionLoggedOut                // ended at /cgi/tmlogout
	sessionSwitched                 // another persona or environment is active
)

// sessionIdentity resolves a session cookie. Decoded cookies are cached, so
// a request pays for decryption once per cookie value.
func (p *Proxy) sessionIdentity(w http.ResponseWriter, cookie string, act *Active, now time.Time) (*sessionEntry, sessionRefusal) {
	se, ok := p.sessions.get(cookie, now)
	if !ok {
		// A copy, as the cache key: cookie is part of the request's header
		// block, which it would otherwise keep alive.
		cookie = strings.Clone(cookie)
		var s session
		if err := p.sealer.open(SessionCookie, cookie, &s); err != nil {
			return nil, sessionForged
		}
		env := p.rt().envs[s.Env]
		if env == nil {
			return nil, sessionForged
		}
		exp := p.expiry(&s)
		if !now.Before(exp) {
			return nil, sessionExpired
		}
		id, err := env.newCaller(s.Claims, s.Persona, env.samlLoginCalled(s.SAML))
		if err != nil {
			return nil, sessionForged
		}
		id.key, id.via, id.expires = s.ID, "session", exp
		se = &sessionEntry{id: id, s: s, expires: exp}
		p.sessions.put(cookie, se, exp, now)
	}
	if _, gone := p.revoked.get(se.s.ID, now); gone {
		return nil, sessionLoggedOut
	}
	if _, gone := p.expired.get(se.s.ID, now); gone || se.s.Created < p.expiredBefore.Load() {
		return nil, sessionExpired
	}
	if se.s.Env != act.Env || (act.Persona != "" && se.s.Persona != act.Persona) {
		return se, sessionSwitched
	}
	// Sliding idle timeout: re-issue the cookie now and then rather than at
	// every request, which would cost a seal and a Set-Cookie each time.
	if now.Sub(time.Unix(se.s.Seen, 0)) >= p.refresh {
		s := se.s
		s.Seen = now.Unix()
		if v, err := p.sealSession(&s); err == nil {
			p.setSessionCookie(w, v)
			fresh := &sessionEntry{id: se.id, s: s, expires: p.expiry(&s)}
			p.sessions.put(v, fresh, fresh.expires, now)
			// The old value slides too: a client that keeps sending it (a
			// script, a load tool, requests already in flight) would
			// otherwise cost a seal, a Set-Cookie and a cache entry at
			// every request until it takes the new one.
			p.sessions.put(cookie, fresh, fresh.expires, now)
		}
	}
	return se, sessionOK
}

func (p *Proxy) sealSession(s *session) (string, error) {
	v, err := p.sealer.seal(SessionCookie, s)
	if err == nil && len(v) > maxCookie && s.IDToken != "" {
		c := *s
		c.IDToken = ""
		return p.sealer.seal(SessionCookie, &c)
	}
	return v, err
}

func (p *Proxy) setSessionCookie(w http.ResponseWriter, value string) {
	// A session cookie (no Expires), as the ADC sets NSC_TMAS; the sealed
	// timestamps enforce the timeouts.
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: value, Path: "/",
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

func (p *Proxy) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

// cookieValue finds a cookie in the request without parsing every cookie
// (r.Cookie allocates them all).
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
				v := part[len(name)+1:]
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				return v
			}
		}
	}
	return ""
}

// randomToken returns n random bytes, base64url encoded.
func (p *Proxy) randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(p.rand, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ExpireSessions ends every session as its timeout would: each one used
// since the start is refused from now on, and so is any older cookie. The
// browser logs in again. This is the expired-session failure drill.
func (p *Proxy) ExpireSessions() {
	now := p.now()
	p.expiredBefore.Store(now.Unix())
	p.sessions.deleteFunc(func(_ string, se *sessionEntry) bool {
		p.expired.put(se.s.ID, struct{}{}, se.expires, now)
		return true
	})
}
