package mockidp

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/authdev/authdev/audit"
)

// endSession is RP-initiated logout (OpenID Connect RP-Initiated Logout
// 1.0), and Auth0's /v2/logout with its returnTo. The target must be
// registered for the client named by client_id or by the id_token_hint's
// audience; anything else gets an error page, never a redirect.
func (ep *issuerEP) endSession(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		ep.s.errorPage(w, http.StatusMethodNotAllowed, "Method not allowed", "The logout endpoint takes GET or POST.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		ep.s.errorPage(w, http.StatusBadRequest, "Malformed request", fmt.Sprintf("The logout request could not be read: %v.", err))
		return
	}
	clientID := r.Form.Get("client_id")
	if hint := r.Form.Get("id_token_hint"); hint != "" {
		v, err := ep.verify(hint, true)
		if err != nil {
			ep.s.errorPage(w, http.StatusBadRequest, "Logout refused", fmt.Sprintf("The id_token_hint is not an ID token of this issuer: %v.", err))
			return
		}
		aud := audiences(v.claims)
		if clientID == "" && len(aud) > 0 {
			clientID = aud[0]
		} else if clientID != "" && !slices.Contains(aud, clientID) {
			ep.s.errorPage(w, http.StatusBadRequest, "Logout refused", fmt.Sprintf("The id_token_hint was issued to another client than %q.", clientID))
			return
		}
	}
	var target *url.URL
	if raw := ep.postLogoutTarget(r); raw != "" {
		c, ok := ep.s.clients[clientID]
		if !ok {
			ep.s.errorPage(w, http.StatusBadRequest, "Logout refused",
				"A post_logout_redirect_uri needs the client: send client_id or id_token_hint.")
			return
		}
		u, err := parseRedirect(raw)
		if err != nil || !c.postLogout(u) {
			ep.s.errorPage(w, http.StatusBadRequest, "Logout refused", fmt.Sprintf(
				"The post_logout_redirect_uri %q is not registered for client %q. Add it to the client's post_logout_redirect_uris in authdev.yaml.", raw, clientID))
			return
		}
		target = u
	}
	if sess := ep.session(r); sess != nil {
		c, _ := r.Cookie(ep.cookieName())
		ep.s.sessions.Delete(c.Value)
		id, _ := ep.s.cfg.IdentityIn(sess.persona, ep.env.cfg.Name)
		ep.s.emit(audit.Event{Kind: audit.KindLogout, Env: ep.env.cfg.Name, Persona: sess.persona, User: id.Email,
			Message: "signed out at the IdP"})
	}
	http.SetCookie(w, &http.Cookie{Name: ep.cookieName(), Path: ep.s.basePath + "/" + ep.env.cfg.Name, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if target != nil {
		q := url.Values{}
		if st := r.Form.Get("state"); st != "" {
			q.Set("state", st)
		}
		ep.redirectTo(w, r, target, q)
		return
	}
	ep.s.render(w, http.StatusOK, "message", messagePage{Title: "Signed out", Message: "You are signed out of " + ep.env.cfg.Name + " at the authdev IdP."})
}

// postLogoutTarget is where the client asks to return: returnTo at Auth0's
// /v2/logout, post_logout_redirect_uri everywhere else.
func (ep *issuerEP) postLogoutTarget(r *http.Request) string {
	if l := ep.env.layout.ExtraLogout; l != "" && r.URL.Path == ep.s.basePath+l {
		return r.Form.Get("returnTo")
	}
	return r.Form.Get("post_logout_redirect_uri")
}
