package mockidp

import (
	"fmt"
	"net/http"

	"github.com/crewjam/saml"
)

// GetSession implements saml.SessionProvider: the persona picker of the
// OIDC side, shared sessions included (a browser logged in at the IdP for
// OIDC is logged in for SAML too).
//
// The picker is a plain HTML form, so a client without JavaScript logs in
// like a browser: it posts persona=<id> (or cancel=1) to the URL it was
// shown at. login_hint=<persona or email> on the SSO URL logs in without
// the page, as on the OIDC side.
func (h *samlIdP) GetSession(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	ep := h.ep
	now := ep.s.now()
	q := r.URL.Query()
	sp := req.ServiceProviderMetadata.EntityID
	newSession := func(persona string) *saml.Session {
		return h.session(req, ep.newSession(w, sp, ep.cookieName(), persona, now))
	}
	force := req.Request.ForceAuthn != nil && *req.Request.ForceAuthn
	passive := req.Request.IsPassive != nil && *req.Request.IsPassive
	switch {
	case q.Has("cancel") || r.PostForm.Has("cancel"):
		h.refuse(w, req, saml.StatusAuthnFailed, "the user cancelled the login")
	case r.PostForm.Get("persona") != "":
		id := r.PostForm.Get("persona")
		if _, ok := ep.s.cfg.Persona(id); ok {
			return newSession(id)
		}
		h.picker(w, r, req, http.StatusBadRequest, fmt.Sprintf("There is no persona %q; choose one below.", id))
	case q.Get("login_hint") != "":
		if id, ok := ep.personaForHint(q.Get("login_hint")); ok {
			return newSession(id)
		}
		h.picker(w, r, req, http.StatusOK, fmt.Sprintf("login_hint %q names no persona; choose one below.", q.Get("login_hint")))
	default:
		if sess := ep.session(r); sess != nil && !force {
			return h.session(req, sess)
		}
		if passive {
			h.refuse(w, req, saml.StatusNoPassive, "no session at the IdP and IsPassive forbids asking: send login_hint")
			return nil
		}
		h.picker(w, r, req, http.StatusOK, "")
	}
	return nil
}

// refuse answers the SP with a SAML error Response: Responder and status.
func (h *samlIdP) refuse(w http.ResponseWriter, req *saml.IdpAuthnRequest, status, message string) {
	err := req.IDP.SendErrorResponse(w, req, &saml.StatusError{TopLevel: saml.StatusResponder, SecondLevel: status, Message: message})
	if err != nil {
		h.ep.samlErrorPage(w, http.StatusInternalServerError, err)
	}
}

// samlPickerPage is the picker with the SAML message carried through.
type samlPickerPage struct {
	pickerPage
	Hidden map[string]string
}

// picker renders the persona picker. It posts back to the URL it was shown
// at: for HTTP-Redirect and IdP-initiated requests everything stays in the
// URL; for HTTP-POST the message rides along as hidden fields.
func (h *samlIdP) picker(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest, status int, notice string) {
	ep := h.ep
	hidden := map[string]string{}
	if r.Method == http.MethodPost && r.PostForm.Has("SAMLRequest") {
		for _, k := range []string{"SAMLRequest", "RelayState"} {
			if r.PostForm.Has(k) {
				hidden[k] = r.PostForm.Get(k)
			}
		}
	}
	ep.s.render(w, status, "saml-picker", samlPickerPage{
		pickerPage: pickerPage{
			Title: "Sign in to " + ep.env.cfg.Name, Env: ep.env.cfg.Name, EnvDescription: ep.env.cfg.Description,
			Client: req.ServiceProviderMetadata.EntityID, Action: r.URL.RequestURI(), Notice: notice, Legend: "Sign in as",
			Personas: ep.personaViews(),
		},
		Hidden: hidden,
	})
}

// session is the library's view of an IdP session for one SP. UserName
// carries the persona id to MakeAssertion.
func (h *samlIdP) session(req *saml.IdpAuthnRequest, sess *session) *saml.Session {
	ep := h.ep
	env := ep.env.cfg.Name
	id, _ := ep.s.cfg.IdentityIn(sess.persona, env)
	sp := ep.s.samlSPs.configOf(req.ServiceProviderMetadata.EntityID)
	out := &saml.Session{
		ID: sess.sid, CreateTime: sess.authTime, ExpireTime: sess.authTime.Add(ep.s.opts.SessionTTL), Index: sess.sid,
		UserName: sess.persona, UserEmail: id.Email, UserCommonName: id.Name, Groups: id.Groups,
	}
	switch sp.NameIDFormat {
	case "persistent":
		out.NameIDFormat, out.NameID = string(saml.PersistentNameIDFormat), ep.env.flavor.Subject(ep.env.cfg, sess.persona)
	case "transient":
		// A fresh identifier per session, as transient requires
		// (saml-core §8.3.8): the session id is random.
		out.NameIDFormat, out.NameID = string(saml.TransientNameIDFormat), "_"+sess.sid
	case "unspecified":
		out.NameIDFormat, out.NameID = string(saml.UnspecifiedNameIDFormat), id.Email
	default:
		out.NameIDFormat, out.NameID = string(saml.EmailAddressNameIDFormat), id.Email
	}
	return out
}

// InvalidateSession implements saml.SessionInvalidator: an SP's
// LogoutRequest ends the browser's IdP session.
func (h *samlIdP) InvalidateSession(w http.ResponseWriter, r *http.Request, _ *saml.IdpLogoutRequest) error {
	h.ep.endIdPSession(w, r)
	return nil
}
