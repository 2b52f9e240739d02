package devproxy

import (
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"fmt"
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
	// and -signatureAlg do.
	SigningKey         crypto.Signer
	SigningCertificate *x509.Certificate
	SignatureMethod    string
	// DigestHash, when set, digests the HTTP-POST binding's signed
	// AuthnRequest (the ADC's -digestMethod); by default the signature's
	// hash does. The HTTP-Redirect binding signs the query, with no digest.
	DigestHash crypto.Hash
	// SignedResponse refuses a response whose Response is not signed, as
	// well as its assertion, as the ADC's -samlRejectUnsignedAssertion
	// STRICT does; an unsigned assertion is refused either way (ON, the
	// ADC's default).
	SignedResponse bool
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

// postedResponse is the posted samlResponse, parsed once for what the
// proxy reads of it before and after the library checks it (its issuer,
// InResponseTo, the Response's own signature); nil when absent or not XML.
func postedResponse(samlResponse string) *etree.Element {
	raw, err := base64.StdEncoding.DecodeString(samlResponse)
	doc := etree.NewDocument()
	if samlResponse == "" || err != nil || doc.ReadFromBytes(raw) != nil {
		return nil
	}
	return doc.Root()
}

// firstIssuer is the outermost Issuer of a SAML message: the Response's,
// else its assertion's; in a SOAP envelope the ArtifactResponse's, else
// that of the Response inside.
func firstIssuer(root *etree.Element) string {
	if root == nil {
		return ""
	}
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
