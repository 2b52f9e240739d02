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
