package devproxy

import (
	"errors"
	"net/http"

	"github.com/crewjam/saml"
)

// samlLogoutURL is where /cgi/tmlogout sends the browser once the session
// of nameID, logged in by login, has ended: the IdP's single logout service
// with a LogoutRequest, whose ID the LogoutResponse must answer, or "" when
// login has none.
func (p *Proxy) samlLogoutURL(r *http.Request, env *envState, login *SAMLLogin, nameID string) (string, error) {
	if login == nil || login.LogoutURL == "" || nameID == "" {
		return "", nil
	}
	sp, err := env.serviceProvider(p, login, p.origin(r)+SAMLACSPath)
	if err != nil {
		return "", err
	}
	req, err := sp.MakeLogoutRequest(login.LogoutURL, nameID)
	if err != nil {
		return "", err
	}
	u, err := sp.RedirectLogoutRequestURL(req, "")
	if err != nil {
		return "", err
	}
	now := p.now()
	p.saml.logouts.put(req.ID, &samlRequest{env: env.Name, login: login}, now.Add(loginTimeout), now)
	return u.String(), nil
}

// hasSAMLResponse reports whether r carries a SAML message's answer, by
// the HTTP-Redirect (query) or HTTP-POST (form) binding.
func hasSAMLResponse(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Query().Has("SAMLResponse") {
		return true
	}
	if r.Method != http.MethodPost {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, samlMaxForm)
	return r.ParseForm() == nil && r.PostForm.Has("SAMLResponse")
}

// samlLogoutReturn is the IdP's LogoutResponse arriving at /cgi/tmlogout,
// after the proxy session has ended. "Logged out" is said only for a
// response to a LogoutRequest this proxy sent and has not seen answered,
// signed by the IdP (its issuer), to this proxy (Destination), with
// Success; anything else gets a page saying what was wrong.
func (p *Proxy) samlLogoutReturn(w http.ResponseWriter, r *http.Request) {
	why := "it answers no LogoutRequest this proxy sent: it is unsolicited, replayed or too late"
	for k, ids := range awaiting(p.saml.logouts, p.now()) {
		env := p.rt().envs[k.env]
		if env == nil || k.login == nil {
			continue
		}
		sp, err := env.serviceProvider(p, k.login, p.origin(r)+SAMLACSPath)
		if err != nil {
			why = err.Error()
			continue
		}
		resp, err := sp.ParseLogoutResponse(r, ids)
		if err == nil {
			p.saml.logouts.delete(resp.InResponseTo)
			http.Redirect(w, r, LoggedOutPath, http.StatusFound)
			return
		}
		// The IDs other logouts await are nobody else's business.
		if !errors.Is(err, saml.ErrRequestIDMismatch) {
			why = samlRefusal(err)
		}
	}
	p.notice("warn", "a SAML LogoutResponse was refused: "+why)
	p.errorPage(w, r, http.StatusBadRequest, "Logout not confirmed", "The identity provider's SAML LogoutResponse was refused: "+why+".",
		"your session at this proxy has ended all the same; the IdP's session may not have: log out at the IdP, or log in and out again")
}
