package devproxy

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/authdev/authdev/audit"
)

// authenticate establishes who sent r: a bearer token, or the session
// cookie. When there is neither it answers itself — a redirect to the IdP
// for a browser, a 401 for an API client — and returns nil.
func (p *Proxy) authenticate(w http.ResponseWriter, r *http.Request, up *upstream, st *reqState) *caller {
	act := p.active.Load()
	g := p.rt()
	env := g.env(act.Env)
	now := st.start
	if auth := r.Header.Get("Authorization"); auth != "" {
		if scheme, token, _ := strings.Cut(auth, " "); strings.EqualFold(scheme, "Bearer") {
			id, err := p.bearerIdentity(r.Context(), env, strings.TrimSpace(token), now)
			if err != nil {
				p.refuseBearer(w, r, env, st, err)
				return nil
			}
			return id
		}
	}
	refusal := sessionOK
	var stale *sessionEntry
	if c := cookieValue(r, SessionCookie); c != "" {
		se, why := p.sessionIdentity(w, c, act, now)
		if why == sessionOK {
			return se.id
		}
		refusal, stale = why, se
		if why == sessionForged || why == sessionExpired || why == sessionLoggedOut {
			p.clearCookie(w, SessionCookie, "/")
			p.emit(audit.Event{Kind: audit.KindTokenRefused, Env: act.Env, Method: r.Method, Path: r.URL.Path,
				ClientIP: clientIP(r).String(), Via: "session", Message: refusalText[why]})
		}
	}
	if wants401(r, up) {
		st.message = "no session"
		desc := "log in through a browser, or send Authorization: Bearer <token from " + env.Issuer + ">"
		if refusal == sessionSwitched {
			desc = fmt.Sprintf("the active persona is now %s in %s: reload the page to log in again", cmp.Or(act.Persona, "(any)"), act.Env)
		} else if refusal != sessionOK {
			desc = refusalText[refusal]
		}
		p.unauthorized(w, r, env, "", desc)
		return nil
	}
	if stale != nil {
		p.emit(audit.Event{Kind: audit.KindNotice, Level: "info", Persona: act.Persona, Env: act.Env,
			User: stale.id.user, Message: fmt.Sprintf("session of %s re-established as %s in %s",
				cmp.Or(stale.id.persona, stale.id.user), cmp.Or(act.Persona, "(picker)"), act.Env)})
	}
	st.message = "login required"
	p.startLogin(w, r, env, act, r.URL.RequestURI())
	return nil
}

var refusalText = map[sessionRefusal]string{
	sessionForged:    "session cookie refused: not made by this proxy, or altered",
	sessionExpired:   "session expired (session or idle timeout)",
	sessionLoggedOut: "session ended by logout",
	sessionSwitched:  "session of another persona or environment",
}

// wants401 is the ADC's choice between a login redirect and a 401: API
// clients cannot follow a redirect to a login page.
func wants401(r *http.Request, up *upstream) bool {
	if r.Header.Get("Authorization") != "" || (up != nil && up.API) {
		return true
	}
	accept := strings.ToLower(r.Header.Get("Accept"))
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

// bearerError is a refused token: the RFC 6750 error code and why.
type bearerError struct {
	code string // invalid_request | invalid_token
	desc string
	// unavailable is set when the token could not be checked at all (the
	// IdP did not answer): that is the proxy's problem, not the client's.
	unavailable bool
}

func (e *bearerError) Error() string { return e.desc }

// bearerIdentity verifies an IdP token: signature by the issuer's JWKS
// (refetched when the token names an unknown key), an asymmetric
// algorithm, issuer, audience, exp and nbf. Verified tokens are cached
// until they expire.
func (p *Proxy) bearerIdentity(ctx context.Context, env *envState, token string, now time.Time) (*caller, error) {
	if token == "" {
		return nil, &bearerError{code: "invalid_request", desc: "empty bearer token"}
	}
	if id, ok := p.bearers.get(token, now); ok && id.env == env.Name {
		return id, nil
	}
	if iss := unverifiedIssuer(token); iss != "" && iss != env.Issuer {
		return nil, &bearerError{code: "invalid_token", desc: p.rt().wrongIssuer(iss, env)}
	}
	prov, err := env.provider(p)
	if err != nil {
		return nil, &bearerError{code: "invalid_token", desc: err.Error(), unavailable: true}
	}
	if prov.bearer == nil {
		return nil, &bearerError{code: "invalid_token", desc: fmt.Sprintf("environment %q accepts no bearer tokens: set its audience", env.Name)}
	}
	t, err := prov.bearer.Verify(oidc.ClientContext(ctx, p.idpClient), token)
	if err != nil {
		return nil, &bearerError{code: "invalid_token", desc: describeTokenError(err, env)}
	}
	claims, err := tokenClaims(t, now)
	if err != nil {
		return nil, &bearerError{code: "invalid_token", desc: err.Error()}
	}
	if cid, _ := claims["client_id"].(string); len(env.BearerClients) > 0 && !slices.Contains(env.BearerClients, cid) {
		return nil, &bearerError{code: "invalid_token", desc: fmt.Sprintf("the token was issued to client %q, not one of %s", cid, strings.Join(env.BearerClients, ", "))}
	}
	id, err := env.newCaller(userClaims(claims), p.rt().personaOf(env.Name, env.personaKey(claims, nil)), nil)
	if err != nil {
		return nil, &bearerError{code: "invalid_token", desc: err.Error()}
	}
	// A copy: token is part of the request's header block, which a cache
	// key would otherwise keep alive as long as the entry.
	token = strings.Clone(token)
	id.key, id.via, id.expires = token, "bearer", t.Expiry
	p.bearers.put(token, id, t.Expiry.Add(ClockSkew), now)
	return id, nil
}

// unverifiedIssuer is the iss claim of a JWT, read without verifying
// anything: a token from another environment's issuer is told so before its
// signature is checked against keys that never signed it.
func unverifiedIssuer(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.Issuer
}

// wrongIssuer says which issuer made a token that env does not accept, and
// how to get one it does.
func (g *routing) wrongIssuer(iss string, env *envState) string {
	msg := fmt.Sprintf("the token was issued by %s, this proxy is in %s (%s)", iss, env.Name, env.Issuer)
	for _, name := range g.envOrder {
		if g.envs[name].Issuer == iss {
			return msg + fmt.Sprintf(": switch the proxy with `authdev as PERSONA --env %s`, or get a token for %s with `authdev token --as PERSONA --env %s`",
				name, env.Name, env.Name)
		}
	}
	return msg + ": get a token from " + env.Issuer
}

// describeTokenError turns go-oidc's errors into what the client should
// hear, without echoing the token.
func describeTokenError(err error, env *envState) string {
	var exp *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &exp):
		return "the token expired at " + exp.Expiry.UTC().Format(time.RFC3339)
	case strings.Contains(msg, "nbf"):
		return "the token is not valid yet (nbf is in the future)"
	case strings.Contains(msg, "different provider"):
		return "the token was issued by another issuer: want " + env.Issuer
	case strings.Contains(msg, "expected audience"):
		return fmt.Sprintf("the token is not for this audience: want %q", env.Audience)
	case strings.Contains(msg, "unexpected signature algorithm"), strings.Contains(msg, "malformed jwt"):
		return "the token is malformed or signed with an algorithm that is not allowed (allowed: " + strings.Join(SigningAlgs, ", ") + ")"
	case strings.Contains(msg, "verify signature"):
		return "the token signature does not verify with the issuer's keys"
	}
	return "the token was refused"
}

func (p *Proxy) refuseBearer(w http.ResponseWriter, r *http.Request, env *envState, st *reqState, err error) {
	be := &bearerError{code: "invalid_token", desc: err.Error()}
	errors.As(err, &be)
	st.message = be.desc
	p.emit(audit.Event{Kind: audit.KindTokenRefused, Env: env.Name, Method: r.Method, Path: r.URL.Path,
		ClientIP: clientIP(r).String(), Via: "bearer", Message: be.desc})
	if be.unavailable {
		p.errorPage(w, r, http.StatusServiceUnavailable, "Service unavailable", "The proxy could not check the token.", be.desc)
		return
	}
	p.unauthorized(w, r, env, be.code, be.desc)
}

// unauthorized answers 401 with a WWW-Authenticate challenge (RFC 6750).
func (p *Proxy) unauthorized(w http.ResponseWriter, r *http.Request, env *envState, code, desc string) {
	ch := `Bearer realm="authdev"`
	if code != "" {
		ch += fmt.Sprintf(`, error=%q, error_description=%q`, code, headerSafe(desc))
	}
	w.Header().Set("WWW-Authenticate", ch)
	p.errorPage(w, r, http.StatusUnauthorized, "Unauthorized", "This request needs a login or a bearer token.", desc)
}

// headerSafe keeps a description inside a quoted-string.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return '\''
		}
		return r
	}, s)
}
