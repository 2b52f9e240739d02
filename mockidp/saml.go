package mockidp

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/authdev/authdev/audit"
)

// SAML endpoint paths under BaseURL/<env>.
const (
	samlMetadataPath     = "/saml/metadata"
	samlSSOPath          = "/saml/sso"
	samlSLOPath          = "/saml/slo"
	samlIDPInitiatedPath = "/saml/idp-initiated"
	// maxSAMLForm bounds an HTTP-POST SAMLRequest; crewjam/saml bounds the
	// inflated HTTP-Redirect one itself.
	maxSAMLForm = 256 << 10
)

// SAMLEndpoints are an environment's SAML URLs, and its IdP's entity id:
// the metadata URL unless the flavor names its IdP otherwise (ADFS).
type SAMLEndpoints struct {
	EntityID, Metadata, SSO, SLO, IDPInitiated, ArtifactResolution string
}

// SAMLEndpoints returns env's SAML URLs: under BaseURL/env whatever the
// flavor's OIDC layout.
func (s *Server) SAMLEndpoints(env string) SAMLEndpoints {
	base := s.BaseURL() + "/" + env
	e := SAMLEndpoints{EntityID: SAMLMetadataURL(s.BaseURL(), env), Metadata: SAMLMetadataURL(s.BaseURL(), env), SSO: base + samlSSOPath,
		SLO: base + samlSLOPath, IDPInitiated: base + samlIDPInitiatedPath, ArtifactResolution: base + samlArtifactPath}
	if es := s.envs[env]; es != nil && es.flavor.SAMLEntityIDPath != nil {
		host := strings.TrimPrefix(strings.TrimPrefix(s.BaseURL(), "https://"), "http://")
		host, _, _ = strings.Cut(host, "/")
		e.EntityID = "http://" + host + es.flavor.SAMLEntityIDPath(es.cfg)
	}
	return e
}

// SAMLMetadataURL is the metadata URL of env's SAML IdP on an IdP serving
// at base, for callers that do not run it.
func SAMLMetadataURL(base, env string) string {
	return strings.TrimRight(base, "/") + "/" + env + samlMetadataPath
}

// samlNameIDFormats are those the metadata advertises, the default first.
var samlNameIDFormats = []saml.NameIDFormat{saml.EmailAddressNameIDFormat, saml.PersistentNameIDFormat,
	saml.TransientNameIDFormat, saml.UnspecifiedNameIDFormat}

// samlIdP adapts an environment to crewjam/saml's IdentityProvider: it is
// the provider's service provider registry, session provider (the persona
// picker), assertion maker (flavor-shaped attributes), response writer (the
// HTTP-POST form) and session invalidator (SP-initiated logout).
type samlIdP struct {
	ep *issuerEP
	// acs is the AssertionConsumerServiceURL of the request being served,
	// for the built-in proxy SP whose ACS is any loopback /cgi/samlauth.
	acs string
}

// identityProvider builds the library's IdP for one request: keys and base
// URL may change between requests (rotation, Start on a new port), and its
// clock is the server's.
func (ep *issuerEP) identityProvider(acs string) (*saml.IdentityProvider, error) {
	ks, err := ep.s.samlKeys(ep.env)
	if err != nil {
		return nil, err
	}
	e := ep.s.SAMLEndpoints(ep.env.cfg.Name)
	// The library takes the metadata URL for the entity id.
	var u [3]*url.URL
	for i, raw := range []string{e.EntityID, e.SSO, e.SLO} {
		if u[i], err = url.Parse(raw); err != nil {
			return nil, err
		}
	}
	now := ep.s.now()
	h := &samlIdP{ep: ep, acs: acs}
	return &saml.IdentityProvider{
		Key: ks.active.key, Certificate: ks.active.cert, ExtraCertificates: ks.published(now, ep.s.grace),
		MetadataURL: *u[0], SSOURL: *u[1], LogoutURL: *u[2],
		LogoutBindings:          []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding},
		ServiceProviderProvider: h, SessionProvider: h, AssertionMaker: h, ResponseWriter: h,
		SignatureMethod: dsig.RSASHA256SignatureMethod,
		NameIDFormats:   samlNameIDFormats,
		Clock:           dsig.NewFakeClockAt(now),
		Logger:          log.New(samlLog{ep}, "", 0),
		OnError:         h.onError,
	}, nil
}

// samlLog turns the library's log lines into audit notices.
type samlLog struct{ ep *issuerEP }

func (l samlLog) Write(p []byte) (int, error) {
	l.ep.s.emit(audit.Event{Kind: audit.KindNotice, Env: l.ep.env.cfg.Name, Level: "warn",
		Message: "saml: " + strings.TrimSpace(string(p))})
	return len(p), nil
}

// samlMetadata is the library's metadata with the artifact resolution
// service, which the library does not offer, added.
func (ep *issuerEP) samlMetadata(w http.ResponseWriter, _ *http.Request) {
	idp, err := ep.identityProvider("")
	if err != nil {
		ep.samlErrorPage(w, http.StatusInternalServerError, err)
		return
	}
	md := idp.Metadata()
	isDefault := true
	md.IDPSSODescriptors[0].SSODescriptor.ArtifactResolutionServices = []saml.IndexedEndpoint{{Binding: saml.SOAPBinding,
		Location: ep.s.SAMLEndpoints(ep.env.cfg.Name).ArtifactResolution, Index: samlArtifactIndex, IsDefault: &isDefault}}
	buf, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		ep.samlErrorPage(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(buf)
}

// samlSSO is the single sign-on service: an AuthnRequest with the
// HTTP-Redirect (GET) or HTTP-POST (POST) binding.
func (ep *issuerEP) samlSSO(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		ep.s.errorPage(w, http.StatusMethodNotAllowed, "Method not allowed",
			"The SAML SSO service takes an AuthnRequest by GET (HTTP-Redirect binding) or POST (HTTP-POST binding).")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSAMLForm)
	if err := r.ParseForm(); err != nil {
		ep.samlErrorPage(w, http.StatusBadRequest, fmt.Errorf("%w: the form could not be read: %v", saml.ErrMalformedMessage, err))
		return
	}
	if !r.Form.Has("SAMLRequest") {
		ep.s.errorPage(w, http.StatusBadRequest, "No SAML request",
			"This is the SAML SSO service of "+ep.env.cfg.Name+": a service provider sends the browser here with a SAMLRequest. "+
				"To log in to a service provider from the IdP, use "+ep.s.SAMLEndpoints(ep.env.cfg.Name).IDPInitiated+"?sp=<entity id>.")
		return
	}
	if r.Method == http.MethodPost && !r.PostForm.Has("SAMLRequest") {
		// The picker's choice for an HTTP-Redirect request: the request
		// stays in the URL, exactly as signed; the choice becomes a hint.
		ep.samlChoose(w, r)
		return
	}
	probe, err := saml.NewIdpAuthnRequest(&saml.IdentityProvider{}, r)
	if err != nil {
		ep.samlErrorPage(w, http.StatusBadRequest, err)
		return
	}
	peek, err := peekAuthnRequest(probe.RequestBuffer)
	if err != nil {
		ep.samlErrorPage(w, http.StatusBadRequest, err)
		return
	}
	idp, err := ep.identityProvider(peek.ACS)
	if err != nil {
		ep.samlErrorPage(w, http.StatusInternalServerError, err)
		return
	}
	idp.ServeSSO(w, r)
}

// authnRequestPeek is what the SSO service reads of an AuthnRequest before
// the library parses and validates the whole of it.
type authnRequestPeek struct {
	ACS     string `xml:"AssertionConsumerServiceURL,attr"`
	Binding string `xml:"ProtocolBinding,attr"`
}

// peekAuthnRequest refuses what no SAML message may carry, a DTD, and
// response bindings other than HTTP-POST and HTTP-Artifact; and reads the
// ACS URL, which the built-in proxy SP needs before the library looks the
// SP up.
func peekAuthnRequest(raw []byte) (authnRequestPeek, error) {
	var p authnRequestPeek
	if err := refuseDTD(raw, "AuthnRequest"); err != nil {
		return p, err
	}
	if err := xml.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("%w: the SAMLRequest is not XML: %v", saml.ErrMalformedMessage, err)
	}
	if p.Binding != "" && p.Binding != saml.HTTPPostBinding && p.Binding != saml.HTTPArtifactBinding {
		return p, fmt.Errorf("%w: ProtocolBinding %q: this IdP answers with the HTTP-POST (%s) or HTTP-Artifact (%s) binding",
			saml.ErrUnsupported, p.Binding, saml.HTTPPostBinding, saml.HTTPArtifactBinding)
	}
	return p, nil
}

// refuseDTD refuses a message carrying a DTD, which SAML messages may not
// (saml-bindings §3.4.4), and which opens the door to entity expansion.
func refuseDTD(raw []byte, what string) error {
	if up := bytes.ToUpper(raw); bytes.Contains(up, []byte("<!DOCTYPE")) || bytes.Contains(up, []byte("<!ENTITY")) {
		return fmt.Errorf("%w: the %s carries a DTD, which SAML messages may not", saml.ErrMalformedMessage, what)
	}
	return nil
}

// samlChoose turns the picker's POST for an HTTP-Redirect request back
// into the GET it came from, with login_hint (or cancel) added.
func (ep *issuerEP) samlChoose(w http.ResponseWriter, r *http.Request) {
	var add string
	switch {
	case r.PostForm.Has("cancel"):
		add = "cancel=1"
	case r.PostForm.Get("persona") != "":
		add = "login_hint=" + url.QueryEscape(r.PostForm.Get("persona"))
	default:
		ep.samlErrorPage(w, http.StatusBadRequest, fmt.Errorf("%w: the form names no persona", saml.ErrMalformedMessage))
		return
	}
	// The SAML parameters are kept byte for byte: a signature covers them
	// as sent.
	var keep []string
	for pair := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if k, _, _ := strings.Cut(pair, "="); pair != "" && k != "login_hint" && k != "cancel" {
			keep = append(keep, pair)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, r.URL.Path+"?"+strings.Join(append(keep, add), "&"), http.StatusSeeOther)
}

// samlIDPInitiated logs a persona in to a registered service provider
// without an AuthnRequest: ?sp=<entity id>[&RelayState=...][&login_hint=...].
func (ep *issuerEP) samlIDPInitiated(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSAMLForm)
	if err := r.ParseForm(); err != nil {
		ep.samlErrorPage(w, http.StatusBadRequest, fmt.Errorf("%w: the form could not be read: %v", saml.ErrMalformedMessage, err))
		return
	}
	sp := r.URL.Query().Get("sp")
	if sp == "" {
		ep.s.errorPage(w, http.StatusBadRequest, "No service provider",
			"IdP-initiated login needs ?sp=<entity id> naming a service provider of idp.saml.service_providers.")
		return
	}
	idp, err := ep.identityProvider("")
	if err != nil {
		ep.samlErrorPage(w, http.StatusInternalServerError, err)
		return
	}
	idp.ServeIDPInitiated(w, r, sp, r.URL.Query().Get("RelayState"))
}

// samlSLO is the single logout service. A LogoutRequest from an SP (signed,
// as the library requires) ends the IdP session and is answered; a visit
// without one ends the session and says so.
func (ep *issuerEP) samlSLO(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSAMLForm)
	if err := r.ParseForm(); err != nil {
		ep.samlErrorPage(w, http.StatusBadRequest, fmt.Errorf("%w: the form could not be read: %v", saml.ErrMalformedMessage, err))
		return
	}
	if !r.Form.Has("SAMLRequest") && !r.Form.Has("SAMLResponse") {
		ep.endIdPSession(w, r)
		ep.s.render(w, http.StatusOK, "message", messagePage{Title: "Signed out",
			Message: "Your session at the " + ep.env.cfg.Name + " IdP has ended."})
		return
	}
	idp, err := ep.identityProvider("")
	if err != nil {
		ep.samlErrorPage(w, http.StatusInternalServerError, err)
		return
	}
	// The library refuses a LogoutRequest with a bare "Bad Request" and
	// logs why: the page says why instead.
	rw := &refusalPage{ResponseWriter: w, ep: ep}
	idp.Logger = log.New(io.MultiWriter(samlLog{ep}, &rw.why), "", 0)
	idp.ServeSLO(rw, r)
}

// refusalPage turns the library's plain-text error answers into the SAML
// error page, with the reason it logged.
type refusalPage struct {
	http.ResponseWriter
	ep      *issuerEP
	why     strings.Builder
	refused bool
}

func (rw *refusalPage) WriteHeader(status int) {
	if status >= 400 && strings.HasPrefix(rw.Header().Get("Content-Type"), "text/plain") {
		rw.refused = true
		rw.Header().Del("Content-Type")
		rw.Header().Del("X-Content-Type-Options")
		rw.ep.samlErrorPage(rw.ResponseWriter, status, errors.New(strings.TrimSpace(rw.why.String())))
		return
	}
	rw.ResponseWriter.WriteHeader(status)
}

func (rw *refusalPage) Write(b []byte) (int, error) {
	if rw.refused {
		return len(b), nil
	}
	return rw.ResponseWriter.Write(b)
}

// endIdPSession forgets the browser's IdP session, OIDC and SAML alike.
func (ep *issuerEP) endIdPSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(ep.cookieName()); err == nil {
		ep.s.sessions.Delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: ep.cookieName(), Path: ep.s.basePath + "/" + ep.env.cfg.Name, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(ep.s.BaseURL(), "https:")})
}

// onError renders the library's refusals as a page that says what to fix.
// No assertion leaves on this path.
func (h *samlIdP) onError(w http.ResponseWriter, _ *http.Request, status int, err error) {
	h.ep.samlErrorPage(w, status, err)
}

func (ep *issuerEP) samlErrorPage(w http.ResponseWriter, status int, err error) {
	ep.s.emit(audit.Event{Kind: audit.KindNotice, Env: ep.env.cfg.Name, Level: "warn", Message: "saml request refused: " + err.Error()})
	hint := ""
	switch {
	case errors.Is(err, saml.ErrUnknownServiceProvider):
		hint = " Register the service provider under idp.saml.service_providers in authdev.yaml (entity_id and acs_url, or metadata)."
	case errors.Is(err, saml.ErrUnknownAssertionConsumerService):
		hint = " The AssertionConsumerServiceURL must be one of the service provider's acs_urls in authdev.yaml."
	case errors.Is(err, saml.ErrMalformedMessage), errors.Is(err, saml.ErrMissingElement):
		hint = " The SAMLRequest must be a SAML 2.0 AuthnRequest: deflated and base64-encoded for HTTP-Redirect, base64-encoded for HTTP-POST."
	case errors.Is(err, saml.ErrUnsupported):
		hint = " Ask for the HTTP-POST or HTTP-Artifact binding, or leave ProtocolBinding out."
	case errors.Is(err, saml.ErrExpired), errors.Is(err, saml.ErrNotYetValid):
		hint = " Check the service provider's clock, and start the login again."
	}
	ep.s.errorPage(w, status, "This SAML request cannot continue", "The "+ep.env.cfg.Name+" IdP refused it: "+err.Error()+"."+hint)
}

// GetServiceProvider implements saml.ServiceProviderProvider.
func (h *samlIdP) GetServiceProvider(r *http.Request, entityID string) (*saml.EntityDescriptor, error) {
	ctx, cancel := context.WithTimeout(r.Context(), spFetchTimeout)
	defer cancel()
	ed, _, err := h.ep.s.samlSPs.lookup(ctx, entityID, h.acs)
	return ed, err
}
