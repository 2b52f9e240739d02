package mockidp

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
)

// authzParams is a validated authorization request.
type authzParams struct {
	client      *client
	redirect    *url.URL
	redirectURI string
	state       string
	nonce       string
	challenge   string
	scopes      []string
	prompt      map[string]bool
	maxAge      time.Duration
	hasMaxAge   bool
	loginHint   string
	audience    []string
	values      url.Values // the request's parameters, for the picker's form
}

// authorize is the authorization endpoint (OIDC Core §3.1.2), GET or POST.
//
// The persona picker it renders is a plain HTML form, so a client without
// JavaScript (the `authdev test` runner) can log in like a browser:
//
//	POST <the same /authorize URL, query string included>
//	Content-Type: application/x-www-form-urlencoded
//
//	persona=<persona id>    sign in as that persona
//	cancel=1                refuse: the client gets error=access_denied
//
// The authorization parameters travel in the form's action URL, so the POST
// carries only the choice.
func (ep *issuerEP) authorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		ep.s.errorPage(w, http.StatusMethodNotAllowed, "Method not allowed", "The authorization endpoint takes GET or POST.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		ep.s.errorPage(w, http.StatusBadRequest, "Malformed request", fmt.Sprintf("The authorization request could not be read: %v.", err))
		return
	}
	values := url.Values{}
	for k, v := range r.Form {
		if k != "persona" && k != "cancel" {
			values[k] = v
		}
	}
	ap, pageErr, e := ep.parseAuthorize(values)
	if pageErr != "" {
		ep.s.errorPage(w, http.StatusBadRequest, "This login request cannot continue", pageErr)
		return
	}
	if e != nil {
		ep.redirectError(w, r, ap, e)
		return
	}

	now := ep.s.now()
	cookie := ep.cookieName()
	sess := ep.session(r)
	fresh := func(s *session) bool {
		return s != nil && !ap.prompt["login"] && !ap.prompt["select_account"] &&
			(!ap.hasMaxAge || now.Sub(s.authTime) <= ap.maxAge)
	}
	switch {
	case r.Method == http.MethodPost && r.PostForm.Has("cancel"):
		ep.redirectError(w, r, ap, oauthErr(ErrAccessDenied, "the user cancelled the login"))
	case r.Method == http.MethodPost && r.PostForm.Has("persona"):
		id := r.PostForm.Get("persona")
		if _, ok := ep.s.cfg.Persona(id); !ok {
			ep.picker(w, ap, http.StatusBadRequest, fmt.Sprintf("There is no persona %q; choose one below.", id))
			return
		}
		ep.login(w, r, ap, ep.newSession(w, ap.client.id, cookie, id, now))
	case ap.loginHint != "":
		id, ok := ep.personaForHint(ap.loginHint)
		switch {
		case ok && fresh(sess) && sess.persona == id:
			ep.login(w, r, ap, sess)
		case ok:
			// The hint names who logs in: the silent login of the active
			// persona, also under prompt=login (authentication is instant).
			ep.login(w, r, ap, ep.newSession(w, ap.client.id, cookie, id, now))
		case ap.prompt["none"]:
			ep.redirectError(w, r, ap, oauthErr(ErrLoginRequired, "login_hint %q names no persona", ap.loginHint))
		default:
			ep.picker(w, ap, http.StatusOK, fmt.Sprintf("login_hint %q names no persona; choose one below.", ap.loginHint))
		}
	case fresh(sess):
		ep.login(w, r, ap, sess)
	case ap.prompt["none"]:
		ep.redirectError(w, r, ap, oauthErr(ErrLoginRequired, "no session at the IdP: log in without prompt=none, or send login_hint"))
	default:
		ep.picker(w, ap, http.StatusOK, "")
	}
}

// parseAuthorize validates an authorization request. Problems with the
// client or redirect URI come back as pageErr: redirecting to an
// unverified URI would make the IdP an open redirector (RFC 6749 §4.1.2.1).
// Other problems come back as an Error to send to the client.
func (ep *issuerEP) parseAuthorize(v url.Values) (ap *authzParams, pageErr string, e *Error) {
	for _, k := range []string{"client_id", "redirect_uri"} {
		if len(v[k]) > 1 {
			return nil, fmt.Sprintf("The parameter %s is repeated.", k), nil
		}
	}
	cid := v.Get("client_id")
	if cid == "" {
		return nil, "The request has no client_id. The application must say who it is.", nil
	}
	c, ok := ep.s.clients[cid]
	if !ok {
		return nil, fmt.Sprintf("The client %q is not registered with this IdP. Add it under idp.clients in authdev.yaml, or use the built-in %q or %q.", cid, "authdev-proxy", "authdev-cli"), nil
	}
	raw := v.Get("redirect_uri")
	if raw == "" {
		return nil, fmt.Sprintf("The request from client %q has no redirect_uri.", cid), nil
	}
	u, err := parseRedirect(raw)
	if err != nil {
		return nil, fmt.Sprintf("The request from client %q is refused: %v.", cid, err), nil
	}
	if !c.redirect(u) {
		return nil, fmt.Sprintf("The redirect_uri %q is not registered for client %q. Add it to the client's redirect_uris in authdev.yaml.", raw, cid), nil
	}
	ap = &authzParams{client: c, redirect: u, redirectURI: raw, state: v.Get("state"), values: v, prompt: map[string]bool{}}

	for k, vs := range v {
		if len(vs) > 1 && !multiValued[k] {
			return ap, "", oauthErr(ErrInvalidRequest, "parameter %q is repeated", k)
		}
	}
	switch {
	case v.Has("request"), v.Has("request_uri"):
		return ap, "", oauthErr(ErrRequestNotSupported, "request objects are not supported: send plain parameters")
	case v.Get("response_type") == "":
		return ap, "", oauthErr(ErrInvalidRequest, "missing response_type: use code")
	case v.Get("response_type") != "code":
		return ap, "", oauthErr(ErrUnsupportedResponseType, "response_type %q is not supported: use code", v.Get("response_type"))
	case v.Has("response_mode") && v.Get("response_mode") != "query":
		return ap, "", oauthErr(ErrInvalidRequest, "response_mode %q is not supported: use query", v.Get("response_mode"))
	case !c.allows(config.GrantAuthorizationCode):
		return ap, "", oauthErr(ErrUnauthorizedClient, "client %q may not use the authorization code flow", c.id)
	}
	if e := ap.readPKCE(v); e != nil {
		return ap, "", e
	}
	if e := ap.readPrompt(v); e != nil {
		return ap, "", e
	}
	ap.scopes = strings.Fields(v.Get("scope"))
	ap.nonce = v.Get("nonce")
	ap.loginHint = strings.TrimSpace(v.Get("login_hint"))
	for _, a := range append(v["audience"], v["resource"]...) {
		if a != "" {
			ap.audience = append(ap.audience, a)
		}
	}
	return ap, "", nil
}

// readPKCE takes the code challenge (RFC 7636 §4.3): required of public
// clients, S256 only.
func (ap *authzParams) readPKCE(v url.Values) *Error {
	ap.challenge = v.Get("code_challenge")
	method := v.Get("code_challenge_method")
	switch {
	case ap.challenge == "" && ap.client.public():
		return oauthErr(ErrInvalidRequest, "client %q is public: PKCE is required (send code_challenge with method S256)", ap.client.id)
	case ap.challenge == "" && method != "":
		return oauthErr(ErrInvalidRequest, "code_challenge_method without code_challenge")
	case ap.challenge != "" && method != "S256":
		return oauthErr(ErrInvalidRequest, "code_challenge_method %q is not supported: use S256", method)
	case ap.challenge != "" && !validPKCE(ap.challenge):
		return oauthErr(ErrInvalidRequest, "code_challenge is not 43 to 128 URL-safe characters")
	}
	return nil
}

// readPrompt takes prompt and max_age (OIDC Core §3.1.2.1).
func (ap *authzParams) readPrompt(v url.Values) *Error {
	for _, p := range strings.Fields(v.Get("prompt")) {
		if !slices.Contains(promptValues, p) {
			return oauthErr(ErrInvalidRequest, "prompt %q is not one of %s", p, strings.Join(promptValues, ", "))
		}
		ap.prompt[p] = true
	}
	if ap.prompt["none"] && len(ap.prompt) > 1 {
		return oauthErr(ErrInvalidRequest, "prompt=none cannot be combined with other values")
	}
	if v.Has("max_age") {
		n, err := strconv.Atoi(v.Get("max_age"))
		if err != nil || n < 0 {
			return oauthErr(ErrInvalidRequest, "max_age %q is not a number of seconds", v.Get("max_age"))
		}
		ap.maxAge, ap.hasMaxAge = time.Duration(n)*time.Second, true
	}
	return nil
}

// personaForHint resolves login_hint: a persona id, or an email as the
// persona has it in this environment.
func (ep *issuerEP) personaForHint(hint string) (string, bool) {
	if p, ok := ep.s.cfg.Persona(hint); ok {
		return p.ID, true
	}
	if id, ok := ep.s.cfg.PersonaByEmail(ep.env.cfg.Name, hint); ok {
		return id.Persona, true
	}
	return "", false
}

// login ends an authorization request with a code for sess's persona.
func (ep *issuerEP) login(w http.ResponseWriter, r *http.Request, ap *authzParams, sess *session) {
	code, err := ep.s.randomString(32)
	if err != nil {
		ep.redirectError(w, r, ap, oauthErr(ErrServerError, "read randomness: %v", err))
		return
	}
	ep.s.codes.Put(code, &authCode{
		clientID: ap.client.id, redirectURI: ap.redirectURI, persona: sess.persona, prefix: ep.prefix,
		scopes: ap.scopes, audience: ap.audience, nonce: ap.nonce, challenge: ap.challenge,
		authTime: sess.authTime, sid: sess.sid,
	})
	q := url.Values{"code": {code}, "iss": {ep.issuer()}}
	if ap.state != "" {
		q.Set("state", ap.state)
	}
	ep.redirectTo(w, r, ap.redirect, q)
}

// redirectError sends an error to the client's verified redirect URI.
func (ep *issuerEP) redirectError(w http.ResponseWriter, r *http.Request, ap *authzParams, e *Error) {
	q := url.Values{"error": {string(e.Code)}, "error_description": {e.Description}, "iss": {ep.issuer()}}
	if ap.state != "" {
		q.Set("state", ap.state)
	}
	ep.redirectTo(w, r, ap.redirect, q)
}

func (ep *issuerEP) redirectTo(w http.ResponseWriter, r *http.Request, u *url.URL, add url.Values) {
	to := *u
	q := to.Query()
	for k, v := range add {
		q[k] = v
	}
	to.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to.String(), http.StatusFound)
}

// session is a browser's login at the IdP, keyed by its cookie.
type session struct {
	persona  string
	authTime time.Time
	sid      string // the sid claim; not the cookie value
}

// cookieName is per environment: a login in dev is not a login in prod.
func (ep *issuerEP) cookieName() string { return "authdev_idp_" + ep.env.cfg.Name }

func (ep *issuerEP) session(r *http.Request) *session {
	c, err := r.Cookie(ep.cookieName())
	if err != nil || c.Value == "" {
		return nil
	}
	s, ok := ep.s.sessions.Get(c.Value)
	if !ok {
		return nil
	}
	return s
}

func (ep *issuerEP) newSession(w http.ResponseWriter, clientID, cookie, persona string, now time.Time) *session {
	key, err1 := ep.s.randomString(32)
	sid, err2 := ep.s.randomString(12)
	s := &session{persona: persona, authTime: now, sid: sid}
	if err1 == nil && err2 == nil {
		ep.s.sessions.Put(key, s)
		http.SetCookie(w, &http.Cookie{
			Name: cookie, Value: key, Path: ep.s.basePath + "/" + ep.env.cfg.Name, HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(ep.s.BaseURL(), "https:"),
		})
	}
	id, _ := ep.s.cfg.IdentityIn(persona, ep.env.cfg.Name)
	ep.s.emit(audit.Event{Kind: audit.KindLogin, Env: ep.env.cfg.Name, Persona: persona, User: id.Email,
		Message: "signed in at the " + ep.env.cfg.Name + " IdP for client " + clientID})
	return s
}
