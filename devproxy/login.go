package devproxy

import (
	"cmp"
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
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
	// Redirect is the redirect_uri of this login, which the code exchange
	// must repeat.
	Redirect string `json:"c"`
	// SAML names the SAML login (SAMLLogin.Name) of a SAML login.
	SAML string `json:"sa,omitempty"`
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
		login, err := env.samlLoginFor(r)
		switch {
		case err != nil:
			p.errorPage(w, r, http.StatusForbidden, "Login refused", "The ADC would refuse this login.", err.Error())
			return
		case login != nil || env.SAMLChoice == nil:
			// Without a SAML IdP, startSAMLLogin says so; a choice of
			// none is a login that is not SAML.
			p.startSAMLLogin(w, r, env, login, act, returnTo)
			return
		}
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
	ls.Redirect = p.origin(r) + CallbackPath
	ls.Expires = p.now().Add(loginTimeout).Unix()
	sealed, err := p.sealer.seal(loginCookiePrefix, &ls)
	if err != nil {
		p.errorPage(w, r, http.StatusInternalServerError, "Internal error", "The login state could not be sealed.", err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookieName(ls.State), Value: sealed, Path: CallbackPath,
		MaxAge: int(loginTimeout / time.Second), HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
	opts := []oauth2.AuthCodeOption{oidc.Nonce(ls.Nonce), oauth2.S256ChallengeOption(ls.Verifier),
		oauth2.SetAuthURLParam("redirect_uri", ls.Redirect)}
	if act.Persona != "" {
		// prompt=login replaces whatever session the IdP holds for this
		// browser with the active persona: that is the hot switch.
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", act.Persona), oauth2.SetAuthURLParam("prompt", "login"))
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, prov.oauth.AuthCodeURL(ls.State, opts...), http.StatusFound)
}

// origin is where the browser that sent r reaches the proxy, for the URLs
// the IdP sends it back to: the request's own host when it is the public
// URL's or a loopback name (localhost, 127.0.0.1, [::1]), so that the
// cookies set there come back; the public URL for any other host, which the
// IdP would not accept anyway.
func (p *Proxy) origin(r *http.Request) string {
	if strings.EqualFold(r.Host, p.publicHost) {
		return p.publicURL
	}
	if !isLoopbackHost(r.Host) {
		return p.publicURL
	}
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// isLoopbackHost reports whether a Host header names this machine's
// loopback: localhost or a loopback address, with or without a port.
func isLoopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Zone() == "" && ip.IsLoopback()
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

// loginError is why a callback did not log the user in, and the status
// that says so.
type loginError struct {
	status int
	why    string
}

func loginFailure(status int, why string) *loginError { return &loginError{status: status, why: why} }

// callback is /oauth/login: the IdP sends the browser back with a code,
// which becomes a session in three steps: find the login this browser
// started, redeem the code for verified claims, start the session.
func (p *Proxy) callback(w http.ResponseWriter, r *http.Request) {
	if lerr := p.completeLogin(w, r); lerr != nil {
		p.loginFailed(w, r, lerr, "session")
	}
}

// loginFailed records and shows why a login (OIDC or SAML) did not
// complete.
func (p *Proxy) loginFailed(w http.ResponseWriter, r *http.Request, lerr *loginError, via string) {
	p.emit(audit.Event{Kind: audit.KindTokenRefused, Method: r.Method, Path: r.URL.Path,
		ClientIP: clientIP(r).String(), Via: via, Message: "login failed: " + lerr.why})
	w.Header().Set("Cache-Control", "no-store")
	p.page(w, r, lerr.status, pageData{Title: "Login failed", Summary: "The login did not complete.", Detail: lerr.why,
		Link: InternalPrefix + "login?return=%2F", LinkText: "Log in again"})
}

func (p *Proxy) completeLogin(w http.ResponseWriter, r *http.Request) *loginError {
	now := p.now()
	ls, lerr := p.loginInProgress(w, r, now)
	if lerr != nil {
		return lerr
	}
	env := p.rt().envs[ls.Env]
	if env == nil {
		return loginFailure(http.StatusBadRequest, fmt.Sprintf("environment %q no longer exists", ls.Env))
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), p.idpClient), 15*time.Second)
	defer cancel()
	claims, rawID, lerr := p.redeem(ctx, env, ls, r.URL.Query().Get("code"), now)
	if lerr != nil {
		return lerr
	}
	return p.startSession(w, r, env, ls, claims, rawID, now, "session")
}

// loginInProgress is the login this browser started for the callback's
// state, from its sealed cookie (which it clears), unless the IdP answered
// an error.
func (p *Proxy) loginInProgress(w http.ResponseWriter, r *http.Request, now time.Time) (*loginState, *loginError) {
	q := r.URL.Query()
	state := q.Get("state")
	if len(state) < 12 {
		return nil, loginFailure(http.StatusBadRequest, "the callback has no state: start at the application, not at "+CallbackPath)
	}
	name := loginCookieName(state)
	raw := cookieValue(r, name)
	var ls loginState
	if raw == "" || p.sealer.open(loginCookiePrefix, raw, &ls) != nil {
		return nil, loginFailure(http.StatusBadRequest, "no login in progress in this browser for this state (cookies blocked, or the login was started elsewhere)")
	}
	p.clearCookie(w, name, CallbackPath)
	if subtle.ConstantTimeCompare([]byte(ls.State), []byte(state)) != 1 || now.Unix() > ls.Expires {
		return nil, loginFailure(http.StatusBadRequest, "the login state does not match or has expired: log in again")
	}
	if e := q.Get("error"); e != "" {
		return nil, loginFailure(http.StatusUnauthorized, fmt.Sprintf("the identity provider answered %s: %s", e, q.Get("error_description")))
	}
	return &ls, nil
}

// redeem exchanges the code at env's token endpoint and returns the ID
// token's verified user claims (completed from userinfo when the ID token
// lacks the groups) and the raw ID token.
func (p *Proxy) redeem(ctx context.Context, env *envState, ls *loginState, code string, now time.Time) (map[string]any, string, *loginError) {
	prov, err := env.provider(p)
	if err != nil {
		return nil, "", loginFailure(http.StatusBadGateway, err.Error())
	}
	tok, err := prov.oauth.Exchange(ctx, code, oauth2.VerifierOption(ls.Verifier),
		oauth2.SetAuthURLParam("redirect_uri", cmp.Or(ls.Redirect, prov.oauth.RedirectURL)))
	if err != nil {
		return nil, "", loginFailure(http.StatusBadGateway, "the code exchange at the token endpoint failed: "+err.Error())
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, "", loginFailure(http.StatusBadGateway, "the token endpoint returned no id_token: is the openid scope allowed for this client?")
	}
	idt, err := prov.idTokens.Verify(ctx, rawID)
	if err != nil {
		return nil, "", loginFailure(http.StatusUnauthorized, "the ID token was refused: "+describeTokenError(err, env))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(ls.Nonce)) != 1 {
		return nil, "", loginFailure(http.StatusUnauthorized, "the ID token's nonce does not match this login")
	}
	claims, err := tokenClaims(idt, now)
	if err != nil {
		return nil, "", loginFailure(http.StatusUnauthorized, err.Error())
	}
	claims = userClaims(claims)
	if _, ok := claims[env.GroupsClaim]; !ok {
		// Some IdPs keep groups out of the ID token; userinfo has them.
		addUserInfo(ctx, prov, tok, claims)
	}
	return claims, rawID, nil
}

// addUserInfo adds the userinfo claims that claims lacks.
func addUserInfo(ctx context.Context, prov *provider, tok *oauth2.Token, claims map[string]any) {
	ui, err := prov.userInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return
	}
	var more map[string]any
	if ui.Claims(&more) != nil {
		return
	}
	for k, v := range userClaims(more) {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
}

// startSession sets the session cookie for the verified claims and sends
// the browser back where the login started.
func (p *Proxy) startSession(w http.ResponseWriter, r *http.Request, env *envState, ls *loginState, claims map[string]any, rawID string, now time.Time, via string) *loginError {
	persona := p.rt().personaOf(env.Name, env.personaKey(claims))
	c, err := env.newCaller(claims, persona)
	if err != nil {
		return loginFailure(http.StatusUnauthorized, err.Error())
	}
	sid, err := p.randomToken(18)
	if err != nil {
		return loginFailure(http.StatusInternalServerError, err.Error())
	}
	s := session{ID: sid, Env: env.Name, Persona: persona, Claims: claims, IDToken: rawID, SAML: ls.SAML, Created: now.Unix(), Seen: now.Unix()}
	v, err := p.sealSession(&s)
	if err != nil {
		return loginFailure(http.StatusInternalServerError, err.Error())
	}
	p.setSessionCookie(w, v)
	p.emit(audit.Event{Kind: audit.KindLogin, Persona: persona, User: c.user, Env: env.Name, Via: via,
		ClientIP: clientIP(r).String(), Path: ls.Return, Claims: p.detailClaims(claims),
		Message: fmt.Sprintf("groups %s; roles %s", strings.Join(c.groups, ","), strings.Join(c.roles, ","))})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, ls.Return, http.StatusFound)
	return nil
}

// personaKey is what names a token's persona: its email, or, for tokens
// that name the user without one (Cognito's access tokens, ADFS's upn), its
// user name claim.
func (e *envState) personaKey(claims map[string]any) string {
	if email, _ := claims["email"].(string); email != "" {
		return email
	}
	user, _ := claims[e.UserNameClaim].(string)
	return user
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
	idToken, nameID, samlLogin := "", "", ""
	if c := cookieValue(r, SessionCookie); c != "" {
		var s session
		if p.sealer.open(SessionCookie, c, &s) == nil {
			if err := p.revoke(s.ID, time.Unix(s.Created, 0).Add(p.sessionTTL)); err != nil {
				p.notice("warn", "the logout of session "+s.ID[:6]+"… holds only until a restart: "+err.Error())
			}
			p.sessions.deleteFunc(func(_ string, se *sessionEntry) bool { return se.s.ID == s.ID })
			p.assertions.c.deleteFunc(func(k assertionKey, _ *signedAssertion) bool { return k.caller == s.ID })
			if e := g.envs[s.Env]; e != nil {
				env = e
			}
			idToken = s.IDToken
			nameID, _ = s.Claims["sub"].(string)
			samlLogin = s.SAML
			user, _ := s.Claims[env.UserNameClaim].(string)
			p.emit(audit.Event{Kind: audit.KindLogout, Persona: s.Persona, User: user, Env: s.Env, Via: "session",
				ClientIP: clientIP(r).String(), Path: r.URL.Path,
				Message: "session lasted " + now.Sub(time.Unix(s.Created, 0)).Round(time.Second).String()})
		}
	}
	p.clearCookie(w, SessionCookie, "/")
	w.Header().Set("Cache-Control", "no-store")
	if hasSAMLResponse(w, r) {
		p.samlLogoutReturn(w, r)
		return
	}
	back := p.origin(r) + LoggedOutPath
	if env.Login == config.LoginSAML {
		// Without -logoutURL the IdP session stays, as on the ADC.
		slo, err := p.samlLogoutURL(r, env, env.samlLoginNamed(samlLogin), nameID)
		if err != nil {
			p.notice("warn", "no SAML LogoutRequest after the logout: "+err.Error())
		}
		http.Redirect(w, r, cmp.Or(slo, LoggedOutPath), http.StatusFound)
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
