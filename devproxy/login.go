package devproxy

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
)

// loginState travels in the NSC_TASS_<state> cookie from the redirect to
// the IdP until the callback: it binds the callback to this browser.
type loginState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Return   string `json:"r"`
	Env      string `json:"e"`
	Expires  int64  `json:"x"`
}

// loginTimeout is how long a user may take at the IdP.
const loginTimeout = 10 * time.Minute

// loginCookieName is one cookie per login in flight, so that several tabs
// (or a page and its images) logging in at once do not undo each other.
func loginCookieName(state string) string { return loginCookiePrefix + state[:12] }

// startLogin redirects the browser to the IdP: authorization code with
// PKCE, state and nonce; a silent login when a persona is active.
func (p *Proxy) startLogin(w http.ResponseWriter, r *http.Request, env *envState, act *Active, returnTo string) {
	if env.Login == config.LoginSAML {
		p.startSAMLLogin(w, r, env, act, returnTo)
		return
	}
	prov, err := env.provider(p)
	if err == nil {
		err = prov.authorize.check(p.now(), prov.oauth.Endpoint.AuthURL)
	}
	if err != nil {
		p.errorPage(w, r, http.StatusBadGateway, "Bad gateway", "The identity provider did not answer.",
			err.Error()+": start it (`authdev up` or `authdev idp`) and reload this page")
		return
	}
	var ls loginState
	for _, f := range []*string{&ls.State, &ls.Nonce} {
		if *f, err = p.randomToken(24); err != nil {
			p.errorPage(w, r, http.StatusInternalServerError, "Internal error", "No randomness for the login.", err.Error())
			return
		}
	}
	if ls.Verifier, err = p.randomToken(32); err != nil {
		p.errorPage(w, r, http.StatusInternalServerError, "Internal error", "No randomness for the login.", err.Error())
		return
	}
	ls.Return, ls.Env = safeReturn(returnTo), env.Name
	ls.Expires = p.now().Add(loginTimeout).Unix()
	sealed, err := p.sealer.seal(loginCookiePrefix, &ls)
	if err != nil {
		p.errorPage(w, r, http.StatusInternalServerError, "Internal error", "The login state could not be sealed.", err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookieName(ls.State), Value: sealed, Path: CallbackPath,
		MaxAge: int(loginTimeout / time.Second), HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
	opts := []oauth2.AuthCodeOption{oidc.Nonce(ls.Nonce), oauth2.S256ChallengeOption(ls.Verifier)}
	if act.Persona != "" {
		// prompt=login replaces whatever session the IdP holds for this
		// browser with the active persona: that is the hot switch.
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", act.Persona), oauth2.SetAuthURLParam("prompt", "login"))
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, prov.oauth.AuthCodeURL(ls.State, opts...), http.StatusFound)
}

// safeReturn keeps a return URL only when it is a path on this proxy: no
// scheme, no host, no "//" or "/\" that browsers read as another host.
func safeReturn(raw string) string {
	if raw == "" || raw[0] != '/' || strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, `/\`) ||
		strings.ContainsAny(raw, "\\\r\n\t\x00") {
		return "/"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	if strings.HasPrefix(u.Path, CallbackPath) || strings.HasPrefix(u.Path, LogoutPath) {
		return "/"
	}
	return raw
}

// callback is /oauth/login: the IdP sends the browser back with a code.
func (p *Proxy) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := p.now()
	fail := func(status int, why string) {
		p.emit(audit.Event{Kind: audit.KindTokenRefused, Method: r.Method, Path: r.URL.Path,
			ClientIP: clientIP(r).String(), Via: "session", Message: "login failed: " + why})
		w.Header().Set("Cache-Control", "no-store")
		p.page(w, r, status, pageData{Title: "Login failed", Summary: "The login did not complete.", Detail: why,
			Link: InternalPrefix + "login?return=%2F", LinkText: "Log in again"})
	}
	state := q.Get("state")
	if len(state) < 12 {
		fail(http.StatusBadRequest, "the callback has no state: start at the application, not at "+CallbackPath)
		return
	}
	name := loginCookieName(state)
	raw := cookieValue(r, name)
	var ls loginState
	if raw == "" || p.sealer.open(loginCookiePrefix, raw, &ls) != nil {
		fail(http.StatusBadRequest, "no login in progress in this browser for this state (cookies blocked, or the login was started elsewhere)")
		return
	}
	p.clearCookie(w, name, CallbackPath)
	if subtle.ConstantTimeCompare([]byte(ls.State), []byte(state)) != 1 || now.Unix() > ls.Expires {
		fail(http.StatusBadRequest, "the login state does not match or has expired: log in again")
		return
	}
	if e := q.Get("error"); e != "" {
		fail(http.StatusUnauthorized, fmt.Sprintf("the identity provider answered %s: %s", e, q.Get("error_description")))
		return
	}
	env := p.rt().envs[ls.Env]
	if env == nil {
		fail(http.StatusBadRequest, fmt.Sprintf("environment %q no longer exists", ls.Env))
		return
	}
	prov, err := env.provider(p)
	if err != nil {
		fail(http.StatusBadGateway, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), p.idpClient), 15*time.Second)
	defer cancel()
	tok, err := prov.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(ls.Verifier))
	if err != nil {
		fail(http.StatusBadGateway, "the code exchange at the token endpoint failed: "+err.Error())
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		fail(http.StatusBadGateway, "the token endpoint returned no id_token: is the openid scope allowed for this client?")
		return
	}
	idt, err := prov.idTokens.Verify(ctx, rawID)
	if err != nil {
		fail(http.StatusUnauthorized, "the ID token was refused: "+describeTokenError(err, env))
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(ls.Nonce)) != 1 {
		fail(http.StatusUnauthorized, "the ID token's nonce does not match this login")
		return
	}
	claims, err := tokenClaims(idt, now)
	if err != nil {
		fail(http.StatusUnauthorized, err.Error())
		return
	}
	claims = userClaims(claims)
	if _, ok := claims[env.GroupsClaim]; !ok {
		// Some IdPs keep groups out of the ID token; userinfo has them.
		if ui, err := prov.userInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			var more map[string]any
			if ui.Claims(&more) == nil {
				for k, v := range userClaims(more) {
					if _, ok := claims[k]; !ok {
						claims[k] = v
					}
				}
			}
		}
	}
	p.startSession(w, r, env, claims, rawID, ls.Return, fail)
}

// startSession ends a login, OIDC or SAML: the identity from the IdP's
// claims, a sealed NSC_TMAS session, the audit line, and the way back.
func (p *Proxy) startSession(w http.ResponseWriter, r *http.Request, env *envState, claims map[string]any, idToken, returnTo string, fail func(int, string)) {
	now := p.now()
	email, _ := claims["email"].(string)
	persona := p.rt().personaOf(env.Name, email)
	id, err := env.newIdentity(claims, persona)
	if err != nil {
		fail(http.StatusUnauthorized, err.Error())
		return
	}
	sid, err := p.randomToken(18)
	if err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return
	}
	s := session{ID: sid, Env: env.Name, Persona: persona, Claims: claims, IDToken: idToken, Created: now.Unix(), Seen: now.Unix()}
	v, err := p.sealSession(&s)
	if err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return
	}
	p.setSessionCookie(w, v)
	p.emit(audit.Event{Kind: audit.KindLogin, Persona: persona, User: id.user, Env: env.Name, Via: "session",
		ClientIP: clientIP(r).String(), Path: returnTo, Claims: p.detailClaims(claims),
		Message: fmt.Sprintf("groups %s; roles %s", strings.Join(id.groups, ","), strings.Join(id.roles, ","))})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, returnTo, http.StatusFound)
}

func (p *Proxy) detailClaims(c map[string]any) map[string]any {
	if p.detail {
		return c
	}
	return nil
}

// LoggedOutPath is where the IdP sends the browser after logout.
const LoggedOutPath = InternalPrefix + "logged-out"

// logout is /cgi/tmlogout: it ends the proxy session (the cookie stops
// working even if replayed) and then the IdP session (RP-initiated logout).
func (p *Proxy) logout(w http.ResponseWriter, r *http.Request) {
	now := p.now()
	act := p.active.Load()
	g := p.rt()
	env := g.env(act.Env)
	idToken := ""
	if c := cookieValue(r, SessionCookie); c != "" {
		var s session
		if p.sealer.open(SessionCookie, c, &s) == nil {
			p.revoked.put(s.ID, struct{}{}, time.Unix(s.Created, 0).Add(p.sessionTTL), now)
			p.sessions.deleteFunc(func(_ string, se *sessionEntry) bool { return se.s.ID == s.ID })
			p.assertions.c.deleteFunc(func(k assertionKey, _ *signedAssertion) bool { return k.identity == s.ID })
			if e := g.envs[s.Env]; e != nil {
				env = e
			}
			idToken = s.IDToken
			user, _ := s.Claims[env.UserNameClaim].(string)
			p.emit(audit.Event{Kind: audit.KindLogout, Persona: s.Persona, User: user, Env: s.Env, Via: "session",
				ClientIP: clientIP(r).String(), Path: r.URL.Path,
				Message: "session lasted " + now.Sub(time.Unix(s.Created, 0)).Round(time.Second).String()})
		}
	}
	p.clearCookie(w, SessionCookie, "/")
	w.Header().Set("Cache-Control", "no-store")
	back := p.publicURL + LoggedOutPath
	if env.Login == config.LoginSAML {
		// The IdP session stays, as on an ADC without SAML single logout.
		http.Redirect(w, r, LoggedOutPath, http.StatusFound)
		return
	}
	prov, err := env.provider(p)
	if err != nil || prov.endSession == "" {
		http.Redirect(w, r, LoggedOutPath, http.StatusFound)
		return
	}
	u, err := url.Parse(prov.endSession)
	if err != nil {
		http.Redirect(w, r, LoggedOutPath, http.StatusFound)
		return
	}
	q := u.Query()
	q.Set("client_id", env.ClientID)
	q.Set("post_logout_redirect_uri", back)
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}
