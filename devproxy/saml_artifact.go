package devproxy

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"

	"github.com/authdev/authdev/config"
)

// trustNamedIssuer makes the IdP's entity id, for sp of an IdP known by
// -samlRedirectUrl alone, the issuer its message names: that of the posted
// response or, for an artifact, of the ArtifactResponse as the resolution
// service returns it. As on the ADC, the signature by -samlIdPCertName's
// certificate is what is trusted, whichever issuer the IdP names; every
// other check stays.
func trustNamedIssuer(sp *saml.ServiceProvider, posted *etree.Element) {
	md := *sp.IDPMetadata
	md.EntityID = firstIssuer(posted)
	sp.IDPMetadata = &md
	readArtifactResponses(sp, func(soap *etree.Element) { md.EntityID = firstIssuer(soap) })
}

// readArtifactResponses has read see each SOAP envelope the artifact
// resolution service of sp answers, before crewjam/saml checks it.
func readArtifactResponses(sp *saml.ServiceProvider, read func(soap *etree.Element)) {
	c := *sp.HTTPClient
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = artifactReader{next: next, read: read}
	sp.HTTPClient = &c
}

// artifactReader is the transport of an artifact's resolution (see
// readArtifactResponses).
type artifactReader struct {
	next http.RoundTripper
	read func(soap *etree.Element)
}

func (t artifactReader) RoundTrip(r *http.Request) (*http.Response, error) {
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
		t.read(doc.Root())
	}
	return resp, nil
}

// samlArtifactCookie holds, in the browser, the ID of its AuthnRequest
// that asked for an artifact: as the ADC's NSC_TASS keeps a login's state
// in the browser, it tells which login an artifact answers when its
// SourceID cannot (an IdP known by -samlRedirectUrl has no entity id, and
// several samlActions may log in at one IdP).
const samlArtifactCookie = loginCookiePrefix + "SAMLart"

// rememberArtifactLogin keeps the ID of req, which asks for an artifact, in
// the browser until the artifact comes back to the ACS.
func (p *Proxy) rememberArtifactLogin(w http.ResponseWriter, reqID string) {
	http.SetCookie(w, &http.Cookie{Name: samlArtifactCookie, Value: reqID, Path: SAMLACSPath,
		MaxAge: int(loginTimeout / time.Second), HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

// pendingForArtifact finds the environment and SAML login whose IdP issued
// art and the logins pending there, any of which the resolved Response may
// answer; answeredByArtifact then uses up the one it does. The login this
// browser started (samlArtifactCookie) comes first, if its IdP may have
// issued art; then the login whose IdP's entity id has art's SourceID (its
// SHA-1); then the one login by -samlRedirectUrl awaiting an artifact.
// Without a match it is the active environment's default login, whose IdP
// then refuses or fails to resolve it.
func (p *Proxy) pendingForArtifact(r *http.Request, art string, now time.Time) (*loginState, *SAMLLogin, []string) {
	ls := &loginState{Return: "/", Env: p.active.Load().Env}
	raw, err := base64.StdEncoding.DecodeString(art)
	if err != nil || len(raw) != config.SAMLArtifactLength {
		return ls, nil, nil
	}
	source := [20]byte(raw[4:24])
	issuedBy := func(env *envState, l *SAMLLogin) bool {
		if l.SSOURL != "" {
			return l.ArtifactResolutionURL != "" // no entity id to match
		}
		sp, err := env.serviceProvider(p, l, p.origin(r)+SAMLACSPath)
		return err == nil && config.SAMLArtifactSourceID(sp.IDPMetadata.EntityID) == source
	}
	envs, pending := p.rt().envs, awaiting(p.saml.pending, now)
	if req, ok := p.saml.pending.get(cookieValue(r, samlArtifactCookie), now); ok && envs[req.env] != nil && issuedBy(envs[req.env], req.login) {
		ls.Env = req.env
		return ls, req.login, pending[awaitKey{req.env, req.login}]
	}
	for name, env := range envs {
		for _, l := range env.samlLogins() {
			if l.SSOURL == "" && issuedBy(env, l) {
				ls.Env = name
				return ls, l, pending[awaitKey{name, l}]
			}
		}
	}
	// Several logins by -samlRedirectUrl cannot each be tried: an artifact
	// is resolved once.
	var byURL []awaitKey
	for k := range pending {
		if k.login != nil && k.login.SSOURL != "" && issuedBy(nil, k.login) {
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
