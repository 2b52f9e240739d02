package devproxy

import (
	"cmp"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/authdev/authdev/config"
)

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
		if login.DigestHash != 0 && sp.SignatureMethod != "" {
			err = signAuthnRequestWithDigest(sp, req, login.DigestHash)
		}
		if err == nil {
			u, err = url.Parse(req.Destination)
		}
	default:
		u, err = req.Redirect(relayState, sp)
	}
	if err != nil {
		p.errorPage(w, r, http.StatusBadGateway, "Bad gateway", "The SAML login could not start.", err.Error())
		return
	}
	now := p.now()
	p.saml.pending.put(req.ID, &samlRequest{env: env.Name, returnTo: safeReturn(returnTo), login: login}, now.Add(loginTimeout), now)
	if login.ResponseBinding == saml.HTTPArtifactBinding {
		p.rememberArtifactLogin(w, req.ID)
	}
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
	posted := postedResponse(r.PostForm.Get("SAMLResponse"))
	switch {
	case art != "":
		ls, login, ids = p.pendingForArtifact(r, art, now)
	case r.Method != http.MethodPost:
		return loginFailure(http.StatusMethodNotAllowed, "the assertion consumer service takes the IdP's HTTP-POST form or HTTP-Artifact redirect: start at the application, not at "+SAMLACSPath)
	case r.PostForm.Get("SAMLResponse") == "":
		return loginFailure(http.StatusBadRequest, "no SAMLResponse or SAMLart in the request: the IdP sends one of them")
	default:
		ls, login, ids = p.pendingForResponse(posted, now)
	}
	env := p.rt().envs[ls.Env]
	switch {
	case env == nil:
		return loginFailure(http.StatusBadRequest, fmt.Sprintf("environment %q no longer exists", ls.Env))
	case login == nil && env.SAML == nil:
		return loginFailure(http.StatusBadRequest, fmt.Sprintf("environment %q has no SAML identity provider", env.Name))
	}
	a, login, lerr := p.acceptSAMLResponse(r, env, p.samlCandidates(r, env, login, posted), ids, posted, art != "")
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

// samlCandidates are the SAML logins of env that may take the response in
// r: the one its request was sent for; for an unsolicited response
// (IdP-initiated), every login whose IdP may have issued it, in order:
// by metadata, those whose IdP's entity id is its Issuer; by
// -samlRedirectUrl, whose certificate is all that is known of the IdP,
// each. Without any, env's default login, whose checks then refuse it.
func (p *Proxy) samlCandidates(r *http.Request, env *envState, login *SAMLLogin, posted *etree.Element) []*SAMLLogin {
	if login != nil {
		return []*SAMLLogin{login}
	}
	// An artifact that matched no login has no SAMLResponse to name an
	// issuer, nor has a response without Issuer.
	issuer := firstIssuer(posted)
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

// acceptSAMLResponse checks the response in r (posted, parsed as posted,
// or the one an artifact resolves to) with each login of candidates in
// turn and returns the assertion and login of the first that accepts it;
// ids are the AuthnRequests it may answer. No check is relaxed: each
// login's own IdP, audience, signature and validity apply.
func (p *Proxy) acceptSAMLResponse(r *http.Request, env *envState, candidates []*SAMLLogin, ids []string, posted *etree.Element, byArtifact bool) (*saml.Assertion, *SAMLLogin, *loginError) {
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
			trustNamedIssuer(sp, posted)
		}
		// The Response whose own signature STRICT wants: the posted one,
		// or the one inside the ArtifactResponse.
		resp := posted
		if byArtifact && login.SignedResponse {
			readArtifactResponses(sp, func(soap *etree.Element) { resp = soap.FindElement("./Body/ArtifactResponse/Response") })
		}
		var a *saml.Assertion
		reason := relayStateRefusal(r, login)
		if reason == "" {
			if a, err = sp.ParseResponse(r, ids); err != nil {
				reason = "the SAML response was refused: " + samlRefusal(err)
			} else if reason = login.unsignedRefusal(a, resp); reason == "" {
				return a, login, nil
			}
		}
		if len(candidates) > 1 {
			reason = fmt.Sprintf("samlAction %q: %s", login.Name, reason)
		}
		why = append(why, reason)
	}
	return nil, nil, loginFailure(http.StatusUnauthorized, strings.Join(why, "; "))
}

// unsignedRefusal says why the ADC's -samlRejectUnsignedAssertion refuses
// a response crewjam/saml accepted (having verified every signature in
// it), whose Response is resp: ON, the default, rejects an assertion
// "received without signature"; STRICT "ensures that both Response and
// Assertion are signed" (NITRO reference, authenticationsamlaction).
func (l *SAMLLogin) unsignedRefusal(a *saml.Assertion, resp *etree.Element) string {
	switch {
	case a.Signature == nil:
		return "the SAML response was refused: its assertion is not signed, which the samlAction rejects (-samlRejectUnsignedAssertion ON, the ADC's default): have the IdP sign its assertions"
	case l.SignedResponse && (resp == nil || !hasSignature(resp)):
		return "the SAML response was refused: the Response is not signed, and -samlRejectUnsignedAssertion STRICT wants it signed as well as its assertion: have the IdP sign both"
	}
	return ""
}

// hasSignature reports whether el has an XML-DSig Signature child.
func hasSignature(el *etree.Element) bool {
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == dsig.Namespace {
			return true
		}
	}
	return false
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
func (p *Proxy) pendingForResponse(posted *etree.Element, now time.Time) (*loginState, *SAMLLogin, []string) {
	ls := &loginState{Return: "/", Env: p.active.Load().Env}
	if posted == nil {
		return ls, nil, nil
	}
	reqID := posted.SelectAttrValue("InResponseTo", "")
	pending, solicited := p.saml.pending.get(reqID, now)
	if !solicited || reqID == "" {
		return ls, nil, nil
	}
	p.saml.pending.delete(reqID)
	ls.Return, ls.Env = pending.returnTo, pending.env
	return ls, pending.login, []string{reqID}
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

// signAuthnRequestWithDigest signs req again, as the ADC does with a
// -digestMethod other than -signatureAlg's hash (RSA-SHA256 with SHA1, or
// RSA-SHA1 with SHA256): the Reference is digested with digest, SignedInfo
// signed with sp.SignatureMethod. goxmldsig's SigningContext has one Hash
// for both, so one of the digest's hash builds the signature, and one of
// the signature's hash signs its SignedInfo again.
func signAuthnRequestWithDigest(sp *saml.ServiceProvider, req *saml.AuthnRequest, digest crypto.Hash) error {
	signer, err := saml.GetSigningContext(sp)
	if err != nil || signer.Hash == digest {
		return err // as signed already
	}
	digester := *signer
	digester.Hash = digest
	req.Signature = nil
	el := req.Element()
	sig, err := digester.ConstructSignature(el, true)
	if err != nil {
		return err
	}
	method, value := sig.FindElement("./SignedInfo/SignatureMethod"), sig.FindElement("./SignatureValue")
	if method == nil || value == nil {
		return errors.New("goxmldsig built a signature without SignatureMethod or SignatureValue")
	}
	method.CreateAttr("Algorithm", sp.SignatureMethod)
	raw, err := signSignedInfo(signer, el, sig)
	if err != nil {
		return fmt.Errorf("signing the AuthnRequest with -digestMethod %v: %w", digest, err)
	}
	value.SetText(base64.StdEncoding.EncodeToString(raw))
	req.Signature = sig
	return nil
}

// signSignedInfo signs the SignedInfo of sig, the signature of el, with
// signer, canonicalized as goxmldsig's ConstructSignature does: detached
// with the namespaces declared on el and sig around it.
func signSignedInfo(signer *dsig.SigningContext, el, sig *etree.Element) ([]byte, error) {
	ns, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	if ns, err = ns.SubContext(el); err != nil {
		return nil, err
	}
	if ns, err = ns.SubContext(sig); err != nil {
		return nil, err
	}
	signedInfo := sig.FindElement("./SignedInfo")
	if signedInfo == nil {
		return nil, errors.New("the signature has no SignedInfo")
	}
	detached, err := etreeutils.NSDetatch(ns, signedInfo)
	if err != nil {
		return nil, err
	}
	canonical, err := signer.Canonicalizer.Canonicalize(detached)
	if err != nil {
		return nil, err
	}
	return signer.SignString(string(canonical))
}
