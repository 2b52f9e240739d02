package devproxy

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/authdev/authdev/config"
)

// SAMLACSPath is the proxy's assertion consumer service, as on the ADC.
const SAMLACSPath = config.SAMLACSPath

// SAMLLogin makes an environment's browser logins SAML 2.0, as the ADC's
// samlAction does: SP-initiated with the HTTP-Redirect binding, the
// response posted to SAMLACSPath.
type SAMLLogin struct {
	// Name is the ADC's samlAction this login stands for, if any: the
	// proxy serves its SP metadata at SAMLSPMetadataPath + Name.
	Name string
	// Metadata is the IdP's SAML metadata: an http(s) URL or a file.
	Metadata string
	// SSOURL and IdPCertificate, when SSOURL is set, replace Metadata, as
	// the ADC's -samlRedirectUrl and -samlIdPCertName do: the IdP's
	// single sign-on service and the certificate its responses are signed
	// with, which is all the ADC trusts (it knows no IdP entity id).
	SSOURL         string
	IdPCertificate *x509.Certificate
	// EntityID is the proxy's entity id as SP (the ADC's -samlIssuerName);
	// default config.ProxySAMLEntityID.
	EntityID string
	// SigningKey and SigningCertificate, when set, sign the AuthnRequests
	// with SignatureMethod (a dsig URI), as the ADC's -samlSigningCertName
	// and -signatureAlg do; the digest uses the same hash.
	SigningKey         crypto.Signer
	SigningCertificate *x509.Certificate
	SignatureMethod    string
	// LogoutURL is the IdP's single logout service (the ADC's -logoutURL):
	// /cgi/tmlogout sends it a LogoutRequest (HTTP-Redirect binding,
	// signed as AuthnRequests are) once the proxy session has ended.
	LogoutURL string
	// RelayStateRule, when set, checks the RelayState of every response
	// (the ADC's -relaystateRule); a login it refuses fails.
	RelayStateRule func(r *http.Request, relayState string) (ok bool, undef string)
	// Binding sends the AuthnRequest: saml.HTTPRedirectBinding (the
	// default) or saml.HTTPPostBinding (the ADC's -samlBinding POST).
	Binding string
	// ResponseBinding is the binding the AuthnRequest asks the response
	// by: saml.HTTPPostBinding (the default) or saml.HTTPArtifactBinding
	// (the ADC's -samlBinding ARTIFACT), whose SAMLart the ACS resolves at
	// the ArtifactResolutionService of the IdP's metadata, or
	// ArtifactResolutionURL.
	ResponseBinding string
	// Attributes name the IdP's attributes, to read email, name and
	// groups back; every attribute is also a claim under its own name.
	Attributes config.SAMLAttributeNames
	// UserField is the attribute whose value names the user
	// (AAA.USER.NAME) after this login, as the ADC's -samlUserField;
	// default the environment's UserNameClaim.
	UserField string
	// GroupsField, when set, is the attribute whose values, each as sent,
	// are the user's groups after this login (AAA.USER.IS_MEMBER_OF), in
	// place of Attributes' groups, as the ADC's -groupNameField.
	GroupsField string
	// DefaultGroup is a group every user this login logs in is in, besides
	// those the IdP sends (the ADC's -defaultAuthenticationGroup).
	DefaultGroup string
	// ArtifactResolutionURL is the IdP's ArtifactResolutionService (SOAP
	// binding) with SSOURL, which no metadata names (the ADC's
	// -artifactResolutionServiceURL).
	ArtifactResolutionURL string
	// ForceAuthn asks the IdP to authenticate the user again at every
	// login, whatever session it has (the ADC's -forceAuthn ON).
	ForceAuthn bool
	// Audience, when set, is the audience assertions must name instead of
	// EntityID (the ADC's -audience).
	Audience string
}

// samlMaxForm bounds the posted SAMLResponse.
const samlMaxForm = 1 << 20

// samlRequest is a login the proxy started and awaits the response to:
// the AuthnRequest ID (checked as InResponseTo, once) and where to return.
type samlRequest struct {
	env      string
	returnTo string
	login    *SAMLLogin
}

// samlState is the proxy's SAML SP memory, shared by environments: the
// AuthnRequests and LogoutRequests awaiting their answers, by ID.
type samlState struct {
	pending *cache[string, *samlRequest]
	logouts *cache[string, *samlRequest]
	replays saml.AssertionReplayCache
}

func newSAMLState() *samlState {
	return &samlState{pending: newCache[string, *samlRequest](10000), logouts: newCache[string, *samlRequest](10000),
		replays: samlsp.NewMemoryReplayCache(100000)}
}

// awaitKey is the environment and SAML login a request was sent for.
type awaitKey struct {
	env   string
	login *SAMLLogin
}

// awaiting are the IDs of the live requests in c, by environment and login.
func awaiting(c *cache[string, *samlRequest], now time.Time) map[awaitKey][]string {
	out := map[awaitKey][]string{}
	// deleteFunc visits every entry; it deletes none here.
	c.deleteFunc(func(id string, req *samlRequest) bool {
		if _, live := c.get(id, now); live {
			k := awaitKey{req.env, req.login}
			out[k] = append(out[k], id)
		}
		return false
	})
	return out
}

// samlIdPs are the IdPs' metadata, by where it is read from: each read at
// the first SAML login that needs it and again after samlMetadataTTL, so
// that the proxy may start before its IdP and follows its key rotation; a
// failed refresh keeps what was read before. Several SAML logins (and the
// IdP-initiated responses tried against each) share one reading per IdP.
type samlIdPs struct {
	mu    sync.Mutex
	bySrc map[string]samlIdPMetadata
}

type samlIdPMetadata struct {
	meta    *saml.EntityDescriptor
	fetched time.Time
}

const samlMetadataTTL = time.Minute

// idpMetadata is the metadata at src, read again when older than
// samlMetadataTTL.
func (e *envState) idpMetadata(p *Proxy, src string, now time.Time) (*saml.EntityDescriptor, error) {
	e.samlIdPs.mu.Lock()
	defer e.samlIdPs.mu.Unlock()
	got, ok := e.samlIdPs.bySrc[src]
	if ok && now.Sub(got.fetched) <= samlMetadataTTL {
		return got.meta, nil
	}
	md, err := e.fetchSAMLMetadata(p, src)
	switch {
	case err == nil:
		if e.samlIdPs.bySrc == nil {
			e.samlIdPs.bySrc = map[string]samlIdPMetadata{}
		}
		e.samlIdPs.bySrc[src] = samlIdPMetadata{md, now}
		return md, nil
	case ok:
		return got.meta, nil
	}
	return nil, err
}

// serviceProvider is crewjam/saml's SP for env's login l, answering at
// acs.
func (e *envState) serviceProvider(p *Proxy, l *SAMLLogin, acs string) (*saml.ServiceProvider, error) {
	now := p.now()
	var idp *saml.EntityDescriptor
	if l.SSOURL != "" {
		idp = l.idpDescriptor()
	} else {
		md, err := e.idpMetadata(p, l.Metadata, now)
		if err != nil {
			return nil, err
		}
		idp = md
	}
	sp, err := l.spOf(acs, now)
	if err != nil {
		return nil, err
	}
	sp.IDPMetadata, sp.AllowIDPInitiated, sp.ReplayCache, sp.HTTPClient = idp, true, p.saml.replays, p.idpClient
	// An artifact names its IdP (SourceID), which must be this one; the
	// metadata's entity id is a stand-in without metadata.
	sp.RequireStandardArtifacts = l.SSOURL == ""
	// The back channel to a loopback IdP is plain HTTP, as the metadata
	// was fetched.
	if ars, err := url.Parse(sp.GetArtifactBindingLocation(saml.SOAPBinding)); err == nil && isLoopbackHost(ars.Hostname()) {
		sp.AllowInsecureSOAPEndpoints = true
	}
	return sp, nil
}

// spOf is crewjam/saml's SP for l as far as l alone says: its entity id,
// assertion consumer service and signing key, without its IdP.
func (l *SAMLLogin) spOf(acs string, now time.Time) (*saml.ServiceProvider, error) {
	u, err := url.Parse(acs)
	if err != nil {
		return nil, err
	}
	// The IdP's LogoutResponses come back to /cgi/tmlogout beside the ACS.
	slo, err := url.Parse(strings.TrimSuffix(acs, SAMLACSPath) + LogoutPath)
	if err != nil {
		return nil, err
	}
	sp := &saml.ServiceProvider{EntityID: cmp.Or(l.EntityID, config.ProxySAMLEntityID), AcsURL: *u, SloURL: *slo, Clock: dsig.NewFakeClockAt(now)}
	if l.SigningKey != nil {
		sp.Key, sp.Certificate, sp.SignatureMethod = l.SigningKey, l.SigningCertificate, l.SignatureMethod
	}
	if l.ForceAuthn {
		force := true
		sp.ForceAuthn = &force
	}
	if l.Audience != "" {
		sp.ValidateAudienceRestriction = audienceIs(l.Audience)
	}
	return sp, nil
}

// audienceIs checks, in place of crewjam/saml's check of the SP's entity
// id, that an assertion is for aud: as there, it has an
// AudienceRestriction, and each one lists aud (saml-core §2.5.1.4).
func audienceIs(aud string) func(*saml.Assertion) error {
	return func(a *saml.Assertion) error {
		if a.Conditions == nil || len(a.Conditions.AudienceRestrictions) == 0 {
			return fmt.Errorf("the assertion has no AudienceRestriction for %q (-audience)", aud)
		}
		for i := range a.Conditions.AudienceRestrictions {
			if !slices.ContainsFunc(a.Conditions.AudienceRestrictions[i].AllAudiences(), func(v saml.Audience) bool { return v.Value == aud }) {
				return fmt.Errorf("an AudienceRestriction of the assertion does not list %q (-audience)", aud)
			}
		}
		return nil
	}
}

// idpDescriptor is the metadata the ADC's -samlRedirectUrl,
// -samlIdPCertName and -artifactResolutionServiceURL amount to; its entity
// id is the SSO URL until a response names its issuer (see
// trustNamedIssuer).
func (l *SAMLLogin) idpDescriptor() *saml.EntityDescriptor {
	cert := base64.StdEncoding.EncodeToString(l.IdPCertificate.Raw)
	sso := []saml.Endpoint{{Binding: saml.HTTPRedirectBinding, Location: l.SSOURL}, {Binding: saml.HTTPPostBinding, Location: l.SSOURL}}
	md := &saml.EntityDescriptor{EntityID: l.SSOURL, IDPSSODescriptors: []saml.IDPSSODescriptor{{
		SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{
			ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
			KeyDescriptors: []saml.KeyDescriptor{{Use: "signing", KeyInfo: saml.KeyInfo{
				X509Data: saml.X509Data{X509Certificates: []saml.X509Certificate{{Data: cert}}}}}},
		}},
		SingleSignOnServices: sso,
	}}}
	if l.ArtifactResolutionURL != "" {
		md.IDPSSODescriptors[0].SSODescriptor.ArtifactResolutionServices = []saml.IndexedEndpoint{{Binding: saml.SOAPBinding, Location: l.ArtifactResolutionURL}}
	}
	return md
}

// peekSAMLResponse reads, before the library checks the response, its
// issuer and the request it answers (InResponseTo); "" when absent.
func peekSAMLResponse(samlResponse string) (issuer, inResponseTo string) {
	raw, err := base64.StdEncoding.DecodeString(samlResponse)
	doc := etree.NewDocument()
	if err != nil || doc.ReadFromBytes(raw) != nil || doc.Root() == nil {
		return "", ""
	}
	return firstIssuer(doc.Root()), doc.Root().SelectAttrValue("InResponseTo", "")
}

// firstIssuer is the outermost Issuer of a SAML message: the Response's,
// else its assertion's; in a SOAP envelope the ArtifactResponse's, else
// that of the Response inside.
func firstIssuer(root *etree.Element) string {
	if iss := root.FindElement("//Issuer"); iss != nil {
		return strings.TrimSpace(iss.Text())
	}
	return ""
}

func (e *envState) fetchSAMLMetadata(p *Proxy, src string) (*saml.EntityDescriptor, error) {
	if !config.IsHTTPURL(src) {
		raw, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("SAML metadata of environment %q: %w", e.Name, err)
		}
		return samlsp.ParseMetadata(raw)
	}
	u, err := url.Parse(src)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := samlsp.FetchMetadata(ctx, p.idpClient, *u)
	if err != nil {
		return nil, fmt.Errorf("SAML metadata of environment %q at %s: %w: is the IdP running?", e.Name, src, err)
	}
	return md, nil
}

// startSAMLLogin sends the browser to the IdP with an AuthnRequest, by the
// HTTP-Redirect binding or, as the ADC's -samlBinding POST does, an
// auto-submitting HTTP-POST form; a silent login of the active persona adds
// login_hint and ForceAuthn, which replace the IdP's session.
func (p *Proxy) startSAMLLogin(w http.ResponseWriter, r *http.Request, env *envState, login *SAMLLogin, act *Active, returnTo string) {
	if login == nil {
		p.errorPage(w, r, http.StatusBadRequest, "No SAML login", fmt.Sprintf("Environment %q has no SAML identity provider.", env.Name),
			"log in with OIDC, or run the proxy with authdev's IdP (`authdev up`), which speaks SAML in every environment")
		return
	}
	sp, err := env.serviceProvider(p, login, p.origin(r)+SAMLACSPath)
	if err != nil {
		p.errorPage(w, r, http.StatusBadGateway, "Bad gateway", "The SAML identity provider did not answer.",
			err.Error()+": start it (`authdev up` or `authdev idp`) and reload this page")
		return
	}
	if act.Persona != "" {
		force := true
		sp.ForceAuthn = &force
	}
	binding := cmp.Or(login.Binding, saml.HTTPRedirectBinding)
	// As on the ADC, the RelayState is where the login returns to, which a
	// -relaystateRule may check; the response's InResponseTo finds the
	// login.
	relayState := p.origin(r) + safeReturn(returnTo)
	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(binding), binding, cmp.Or(login.ResponseBinding, saml.HTTPPostBinding))
	var u *url.URL
	switch {
	case err != nil:
	case binding == saml.HTTPPostBinding:
		u, err = url.Parse(req.Destination)
	default:
		u, err = req.Redirect(relayState, sp)
	}
	if err != nil {
		p.errorPage(w, r, http.StatusBadGateway, "Bad gateway", "The SAML login could not start.", err.Error())
		return
	}
	now := p.now()
	p.saml.pending.put(req.ID, &samlRequest{env: env.Name, returnTo: safeReturn(returnTo), login: login}, now.Add(loginTimeout), now)
	if act.Persona != "" {
		// Appended: the HTTP-Redirect binding's signature covers the query
		// as it is.
		u.RawQuery = strings.TrimPrefix(u.RawQuery+"&login_hint="+url.QueryEscape(act.Persona), "&")
	}
	w.Header().Set("Cache-Control", "no-store")
	if binding != saml.HTTPPostBinding {
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	doc := etree.NewDocument()
	doc.SetRoot(req.Element())
	xml, err := doc.WriteToBytes()
	if err != nil {
		p.errorPage(w, r, http.StatusInternalServerError, "Internal error", "The SAML login could not start.", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	samlRequestForm.Execute(w, map[string]string{"Action": u.String(), "SAMLRequest": base64.StdEncoding.EncodeToString(xml), "RelayState": relayState})
}

// samlRequestForm is the HTTP-POST binding's form: it submits itself, and
// without JavaScript its button does.
var samlRequestForm = template.Must(template.New("saml").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Logging in · authdev</title></head>
<body onload="document.forms.saml.submit()">
<form method="post" action="{{.Action}}" id="saml">
<input type="hidden" name="SAMLRequest" value="{{.SAMLRequest}}">
<input type="hidden" name="RelayState" value="{{.RelayState}}">
<noscript><button type="submit">Continue to the identity provider</button></noscript>
</form></body></html>
`))

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

// samlACS is /cgi/samlauth: the IdP posts the SAMLResponse here, or sends
// a SAMLart that the proxy resolves at the IdP (HTTP-Artifact). crewjam/saml
// checks the signature (wrapped or moved signatures included), issuer,
// audience, recipient and destination, validity window and InResponseTo;
// a request ID is accepted once, and an IdP-initiated assertion once.
func (p *Proxy) samlACS(w http.ResponseWriter, r *http.Request) {
	if lerr := p.completeSAMLLogin(w, r); lerr != nil {
		p.loginFailed(w, r, lerr, config.LoginSAML)
	}
}

func (p *Proxy) completeSAMLLogin(w http.ResponseWriter, r *http.Request) *loginError {
	r.Body = http.MaxBytesReader(w, r.Body, samlMaxForm)
	if err := r.ParseForm(); err != nil {
		return loginFailure(http.StatusBadRequest, fmt.Sprintf("the assertion consumer service could not read the request: %v", err))
	}
	now := p.now()
	var ls *loginState
	var ids []string
	var login *SAMLLogin
	art := r.Form.Get("SAMLart")
	switch {
	case art != "":
		ls, login, ids = p.pendingForArtifact(r, art, now)
	case r.Method != http.MethodPost:
		return loginFailure(http.StatusMethodNotAllowed, "the assertion consumer service takes the IdP's HTTP-POST form or HTTP-Artifact redirect: start at the application, not at "+SAMLACSPath)
	case r.PostForm.Get("SAMLResponse") == "":
		return loginFailure(http.StatusBadRequest, "no SAMLResponse or SAMLart in the request: the IdP sends one of them")
	default:
		ls, login, ids = p.pendingForResponse(r.PostForm.Get("SAMLResponse"), now)
	}
	env := p.rt().envs[ls.Env]
	switch {
	case env == nil:
		return loginFailure(http.StatusBadRequest, fmt.Sprintf("environment %q no longer exists", ls.Env))
	case login == nil && env.SAML == nil:
		return loginFailure(http.StatusBadRequest, fmt.Sprintf("environment %q has no SAML identity provider", env.Name))
	}
	a, login, lerr := p.acceptSAMLResponse(r, env, p.samlCandidates(r, env, login), ids, art != "")
	if lerr != nil {
		return lerr
	}
	ls.SAML = login.Name
	if art != "" {
		p.answeredByArtifact(a, ls, now)
	}
	claims := SAMLClaims(a, login.Attributes, env.GroupsClaim)
	if login.GroupsField != "" || login.DefaultGroup != "" {
		claims[env.GroupsClaim] = login.Groups(a, stringList(claims[env.GroupsClaim]))
	}
	return p.startSession(w, r, env, ls, claims, "", now, config.LoginSAML)
}

// Groups are the groups of the user a logs in by l, as the ADC has them:
// the values of l's GroupsField, each as the IdP sent it, when set, else
// idpGroups (those of the IdP's groups attribute); and DefaultGroup.
func (l *SAMLLogin) Groups(a *saml.Assertion, idpGroups []string) []string {
	groups := slices.Clone(idpGroups)
	if l.GroupsField != "" {
		groups = []string{}
		for _, st := range a.AttributeStatements {
			for _, at := range st.Attributes {
				for _, v := range at.Values {
					if at.Name == l.GroupsField {
						groups = append(groups, v.Value)
					}
				}
			}
		}
	}
	if l.DefaultGroup != "" && !slices.Contains(groups, l.DefaultGroup) {
		groups = append(groups, l.DefaultGroup)
	}
	return groups
}

// samlCandidates are the SAML logins of env that may take the response in
// r: the one its request was sent for; for an unsolicited response
// (IdP-initiated), every login whose IdP may have issued it, in order:
// by metadata, those whose IdP's entity id is its Issuer; by
// -samlRedirectUrl, whose certificate is all that is known of the IdP,
// each. Without any, env's default login, whose checks then refuse it.
func (p *Proxy) samlCandidates(r *http.Request, env *envState, login *SAMLLogin) []*SAMLLogin {
	if login != nil {
		return []*SAMLLogin{login}
	}
	// An artifact that matched no login has no SAMLResponse to name an
	// issuer, nor has a response without Issuer.
	issuer, _ := peekSAMLResponse(r.PostForm.Get("SAMLResponse"))
	var out []*SAMLLogin
	for _, l := range env.samlLogins() {
		if issuer == "" {
			break
		}
		if l.SSOURL != "" {
			out = append(out, l)
			continue
		}
		if sp, err := env.serviceProvider(p, l, p.origin(r)+SAMLACSPath); err == nil && sp.IDPMetadata.EntityID == issuer {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return []*SAMLLogin{env.SAML}
	}
	return out
}

// acceptSAMLResponse checks the response in r (a posted SAMLResponse, or
// the one an artifact resolves to) with each login of candidates in turn
// and returns the assertion and login of the first that accepts it; ids
// are the AuthnRequests it may answer. No check is relaxed: each login's
// own IdP, audience, signature and validity apply.
func (p *Proxy) acceptSAMLResponse(r *http.Request, env *envState, candidates []*SAMLLogin, ids []string, byArtifact bool) (*saml.Assertion, *SAMLLogin, *loginError) {
	var why []string
	for _, login := range candidates {
		sp, err := env.serviceProvider(p, login, p.origin(r)+SAMLACSPath)
		if err != nil {
			return nil, nil, loginFailure(http.StatusBadGateway, err.Error())
		}
		if byArtifact && sp.GetArtifactBindingLocation(saml.SOAPBinding) == "" {
			return nil, nil, loginFailure(http.StatusBadGateway, fmt.Sprintf("the IdP of environment %q sent a SAMLart, but its metadata names no ArtifactResolutionService (SOAP binding) to resolve it at: "+
				"give the proxy the IdP's metadata with one (or its -artifactResolutionServiceURL), or have the IdP answer by HTTP-POST", env.Name))
		}
		if login.SSOURL != "" {
			trustNamedIssuer(sp, r.PostForm.Get("SAMLResponse"))
		}
		var a *saml.Assertion
		reason := relayStateRefusal(r, login)
		if reason == "" {
			if a, err = sp.ParseResponse(r, ids); err == nil {
				return a, login, nil
			}
			reason = "the SAML response was refused: " + samlRefusal(err)
		}
		if len(candidates) > 1 {
			reason = fmt.Sprintf("samlAction %q: %s", login.Name, reason)
		}
		why = append(why, reason)
	}
	return nil, nil, loginFailure(http.StatusUnauthorized, strings.Join(why, "; "))
}

// trustNamedIssuer makes the IdP's entity id, for sp of an IdP known by
// -samlRedirectUrl alone, the issuer its message names: that of the posted
// samlResponse or, for an artifact, of the ArtifactResponse as the
// resolution service returns it. As on the ADC, the signature by
// -samlIdPCertName's certificate is what is trusted, whichever issuer the
// IdP names; every other check stays.
func trustNamedIssuer(sp *saml.ServiceProvider, samlResponse string) {
	md := *sp.IDPMetadata
	md.EntityID, _ = peekSAMLResponse(samlResponse)
	sp.IDPMetadata = &md
	c := *sp.HTTPClient
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = issuerReader{next: next, md: &md}
	sp.HTTPClient = &c
}

// issuerReader is the transport of an artifact's resolution: it reads the
// issuer of the ArtifactResponse into md (see trustNamedIssuer).
type issuerReader struct {
	next http.RoundTripper
	md   *saml.EntityDescriptor
}

func (t issuerReader) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	// crewjam/saml refuses a longer answer; one byte more says it is.
	body, err := io.ReadAll(io.LimitReader(resp.Body, saml.MaxArtifactResponseSize+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	doc := etree.NewDocument()
	if doc.ReadFromBytes(body) == nil && doc.Root() != nil {
		t.md.EntityID = firstIssuer(doc.Root())
	}
	return resp, nil
}

// relayStateRefusal says why login's -relaystateRule refuses the
// RelayState of r; "" when it has none or accepts it.
func relayStateRefusal(r *http.Request, login *SAMLLogin) string {
	rule := login.RelayStateRule
	if rule == nil {
		return ""
	}
	ok, undef := rule(r, r.Form.Get("RelayState"))
	if ok {
		return ""
	}
	why := fmt.Sprintf("the RelayState %q fails the samlAction's -relaystateRule", r.Form.Get("RelayState"))
	if undef != "" {
		why += " (UNDEF: " + undef + ")"
	}
	return why
}

// pendingForResponse finds the login a posted SAMLResponse answers, by its
// InResponseTo, which is then used up; an unsolicited response is an
// IdP-initiated login to the active environment (login nil: samlCandidates
// finds the logins whose IdP sent it).
func (p *Proxy) pendingForResponse(samlResponse string, now time.Time) (*loginState, *SAMLLogin, []string) {
	ls := &loginState{Return: "/", Env: p.active.Load().Env}
	_, reqID := peekSAMLResponse(samlResponse)
	pending, solicited := p.saml.pending.get(reqID, now)
	if !solicited || reqID == "" {
		return ls, nil, nil
	}
	p.saml.pending.delete(reqID)
	ls.Return, ls.Env = pending.returnTo, pending.env
	return ls, pending.login, []string{reqID}
}

// pendingForArtifact finds the environment and SAML login whose IdP issued
// art (its SourceID is the SHA-1 of the IdP's entity id; for an IdP known
// by -samlRedirectUrl, the one such login awaiting an artifact) and the
// logins pending there, any of which the resolved Response may answer;
// answeredByArtifact then uses up the one it does. Without a match it is
// the active environment's default login, whose IdP then refuses or fails
// to resolve it.
func (p *Proxy) pendingForArtifact(r *http.Request, art string, now time.Time) (*loginState, *SAMLLogin, []string) {
	ls := &loginState{Return: "/", Env: p.active.Load().Env}
	raw, err := base64.StdEncoding.DecodeString(art)
	if err != nil || len(raw) != config.SAMLArtifactLength {
		return ls, nil, nil
	}
	for name, env := range p.rt().envs {
		for _, l := range env.samlLogins() {
			sp, err := env.serviceProvider(p, l, p.origin(r)+SAMLACSPath)
			if err == nil && config.SAMLArtifactSourceID(sp.IDPMetadata.EntityID) == [20]byte(raw[4:24]) {
				ls.Env = name
				return ls, l, awaiting(p.saml.pending, now)[awaitKey{name, l}]
			}
		}
	}
	// An IdP known by -samlRedirectUrl alone has no entity id to match the
	// SourceID with: the artifact answers the one login of that kind that
	// awaits an artifact. Several cannot each be tried: an artifact is
	// resolved once.
	pending := awaiting(p.saml.pending, now)
	var byURL []awaitKey
	for k := range pending {
		if k.login != nil && k.login.SSOURL != "" && k.login.ArtifactResolutionURL != "" {
			byURL = append(byURL, k)
		}
	}
	if len(byURL) == 1 {
		ls.Env = byURL[0].env
		return ls, byURL[0].login, pending[byURL[0]]
	}
	return ls, nil, nil
}

// answeredByArtifact uses up the login the resolved assertion a answers
// and returns the browser where that login started.
func (p *Proxy) answeredByArtifact(a *saml.Assertion, ls *loginState, now time.Time) {
	if a.Subject == nil {
		return
	}
	for _, c := range a.Subject.SubjectConfirmations {
		if d := c.SubjectConfirmationData; d != nil && d.InResponseTo != "" {
			if pending, ok := p.saml.pending.get(d.InResponseTo, now); ok {
				p.saml.pending.delete(d.InResponseTo)
				ls.Return = pending.returnTo
			}
			return
		}
	}
}

// samlRefusal is the reason behind crewjam/saml's "Authentication failed".
func samlRefusal(err error) string {
	var ire *saml.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		return ire.PrivateErr.Error()
	}
	return err.Error()
}

// SAMLClaims turns an assertion into the claims a session holds: every
// attribute under its own name (AAA.USER.ATTRIBUTE("name")), email, name
// and groups (under groupsClaim) as OIDC sessions have them, custom claims
// without the flavor's prefix, and the NameID as sub.
func SAMLClaims(a *saml.Assertion, names config.SAMLAttributeNames, groupsClaim string) map[string]any {
	claims := map[string]any{}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			vals := make([]any, 0, len(at.Values))
			for _, v := range at.Values {
				vals = append(vals, v.Value)
			}
			var v any = vals
			if len(vals) == 1 && at.Name != names.Groups && at.Name != names.Roles {
				v = vals[0]
			}
			key := strings.TrimPrefix(at.Name, names.ClaimPrefix)
			switch at.Name {
			case names.Email:
				key = "email"
			case names.Name:
				key = "name"
			case names.Groups:
				key = groupsClaim
			}
			claims[key] = v
			claims[at.Name] = v
		}
	}
	if a.Subject != nil && a.Subject.NameID != nil {
		claims["sub"] = a.Subject.NameID.Value
		if _, ok := claims["email"]; !ok && a.Subject.NameID.Format == string(saml.EmailAddressNameIDFormat) {
			claims["email"] = a.Subject.NameID.Value
		}
	}
	return claims
}
