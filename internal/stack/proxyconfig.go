package stack

import (
	"cmp"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/flavor"
	"github.com/authdev/authdev/mockidp"
)

// ConfigOptions returns the Options that authdev.yaml decides: one
// environment per configured one, as a client (config.ProxyClientID) of the
// issuer that issuer names, the upstreams, the timeouts and the personas.
// The caller adds keys, TLS, the policy engine and the audit trail.
func ConfigOptions(cfg *config.Config, issuer func(env string) string, clientSecret string) devproxy.Options {
	o := devproxy.Options{
		SessionTimeout: cfg.Proxy.SessionTimeout.D(),
		IdleTimeout:    cfg.Proxy.IdleTimeout.D(),
		RequestTimeout: cfg.Proxy.RequestTimeout.D(),
		PersonaOf: func(env, user string) string {
			if id, ok := cfg.PersonaByEmail(env, user); ok && user != "" {
				return id.Persona
			}
			if p, ok := cfg.Persona(user); ok {
				return p.ID
			}
			return ""
		},
	}
	for _, e := range cfg.Environments {
		spec := flavor.Of(e.Flavor)
		env := devproxy.Environment{
			Name: e.Name, Issuer: issuer(e.Name), ClientID: config.ProxyClientID, ClientSecret: clientSecret,
			Audience: e.Audience, GroupsClaim: spec.GroupsClaim, UserNameClaim: spec.UserNameClaim, Roles: spec.ProxyRoles(&e),
		}
		if spec.ClientBoundAccess {
			env.BearerClients = cfg.ClientIDs()
		}
		o.Environments = append(o.Environments, env)
	}
	for _, u := range cfg.Proxy.Upstreams {
		o.Upstreams = append(o.Upstreams, UpstreamFromConfig(u))
	}
	for _, h := range cfg.Proxy.Headers {
		o.OwnedHeaders = append(o.OwnedHeaders, h.Name)
	}
	return o
}

// UpstreamFromConfig converts an upstream of authdev.yaml (or of an
// ns.conf, through adc.Settings).
func UpstreamFromConfig(u config.Upstream) devproxy.Upstream {
	out := devproxy.Upstream{Name: u.Name, Prefix: u.Prefix, Targets: u.Targets, LB: u.LB, API: u.API,
		Host: u.Host, Timeout: u.Timeout.D()}
	if m := u.Monitor; m != nil {
		out.Monitor = &devproxy.Monitor{Path: m.Path, Interval: m.Interval.D(), Timeout: m.Timeout.D(), Status: m.Status, Retries: m.Retries}
	}
	return out
}

// SAMLLogins lets the environments of opts log in with SAML at the IdP
// serving at idpBase (authdev's, which speaks SAML in every environment),
// or at the IdP of an environment's saml_metadata; proxy.login and
// environments.<env>.login choose which login browsers get.
func SAMLLogins(opts *devproxy.Options, cfg *config.Config, idpBase string) {
	for i := range opts.Environments {
		env := &opts.Environments[i]
		e, ok := cfg.Environment(env.Name)
		if !ok {
			continue
		}
		md := cmp.Or(e.SAMLMetadata, mockidp.SAMLMetadataURL(idpBase, e.Name))
		env.Login = e.Login
		env.SAML = &devproxy.SAMLLogin{Metadata: md, Attributes: flavor.Of(e.Flavor).SAML}
	}
}

// SAMLActions applies an ns.conf's `add authentication samlAction`s: as on
// the ADC, browsers then log in with SAML, each login with the samlAction
// its nFactor flow reaches (adc.AuthnFlow; without one, the first
// samlAction): at the IdP of -metadataUrl, or at -samlRedirectUrl with the
// certificate of -samlIdPCertName's certKey when that file is at hand,
// else at authdev's IdP (whose persona is the user). Each login has its
// samlAction's -samlUserField (AAA.USER.NAME), -groupNameField and
// -defaultAuthenticationGroup (AAA.USER.IS_MEMBER_OF), -forceAuthn and
// -audience; -samlIssuerName is the proxy's entity id, which idp
// (authdev's IdP in this process; nil when it runs elsewhere) then accepts
// besides config.ProxySAMLEntityID. It returns warnings for what it
// cannot follow.
func SAMLActions(opts *devproxy.Options, cfg *config.Config, authn adc.AuthnBackends, idp *mockidp.Server) []string {
	actions := authn.SAML
	if len(actions) == 0 {
		return nil
	}
	var warns []string
	if authn.Flow == nil && len(actions) > 1 {
		warns = append(warns, fmt.Sprintf("%s: the ns.conf has %d samlActions and binds none to an authentication vserver; the proxy logs in with the first", samlWhere(actions[0]), len(actions)))
		actions = actions[:1]
	}
	specs := make([]samlSpec, len(actions))
	for i, a := range actions {
		var w []string
		specs[i], w = samlSpecOf(a, authn)
		warns = append(warns, w...)
	}
	ownIdP := make([]bool, len(specs))
	for i := range opts.Environments {
		env := &opts.Environments[i]
		e, _ := cfg.Environment(env.Name)
		logins := map[string]*devproxy.SAMLLogin{}
		var list []*devproxy.SAMLLogin
		for j, sp := range specs {
			l := sp.login(env.SAML)
			if l == nil {
				warns = append(warns, fmt.Sprintf("%s: environment %q has no SAML IdP: its browser logins stay OIDC", samlWhere(sp.action), env.Name))
				continue
			}
			logins[sp.action.Name], list = l, append(list, l)
			ownIdP[j] = ownIdP[j] || sp.idpCert == nil && sp.action.MetadataURL == "" && (e == nil || e.SAMLMetadata == "")
		}
		if len(list) == 0 {
			continue
		}
		env.Login, env.SAML, env.SAMLLogins = config.LoginSAML, list[0], list
		if flow := authn.Flow; flow != nil {
			env.SAMLChoice = func(r *http.Request, upstream string) (*devproxy.SAMLLogin, error) {
				return samlLoginOf(flow.SAML(&adc.Request{HTTP: r, Upstream: upstream}), logins)
			}
		}
	}
	for i, sp := range specs {
		if ownIdP[i] {
			warns = append(warns, sp.acceptAtIdP(cfg, idp, opts.PublicURL)...)
		}
	}
	return warns
}

func samlWhere(a adc.SAMLAction) string {
	return fmt.Sprintf("samlAction %q (%s)", a.Name, filePos(a.Pos))
}

// samlLoginOf is the login of the samlAction ch picks (nil when none), or
// why the ADC refuses the login.
func samlLoginOf(ch adc.SAMLChoice, logins map[string]*devproxy.SAMLLogin) (*devproxy.SAMLLogin, error) {
	switch {
	case ch.Refused:
		return nil, fmt.Errorf("%s; add to that factor an authentication policy whose rule is true for this request, such as -rule true", strings.Join(ch.Steps, "; "))
	case ch.Action == nil:
		return nil, nil
	}
	return logins[ch.Action.Name], nil
}

// samlSpec is what a samlAction makes of the proxy's SAML login, whatever
// the environment.
type samlSpec struct {
	action  adc.SAMLAction
	binding string
	// respBinding is the binding the AuthnRequest asks the response by.
	respBinding string
	signer      *tls.Certificate
	idpCert     *x509.Certificate
}

// samlSpecOf reads a's binding, signing key and IdP certificate, with
// warnings for what it cannot follow.
func samlSpecOf(a adc.SAMLAction, authn adc.AuthnBackends) (samlSpec, []string) {
	where := samlWhere(a)
	sp := samlSpec{action: a, binding: saml.HTTPPostBinding}
	var warns []string
	switch a.Binding {
	case "REDIRECT":
		sp.binding = saml.HTTPRedirectBinding
	case "ARTIFACT":
		// The AuthnRequest goes by redirect and asks for an artifact,
		// which the proxy resolves at the IdP's ArtifactResolutionService.
		sp.binding, sp.respBinding = saml.HTTPRedirectBinding, saml.HTTPArtifactBinding
	}
	var why string
	if sp.signer, why = samlSigning(a, authn); why != "" {
		warns = append(warns, where+": "+why)
	}
	sp.idpCert, why = samlIdPCertificate(a, authn)
	if why != "" {
		warns = append(warns, fmt.Sprintf("%s: browsers log in at authdev's SAML IdP, not at -samlRedirectUrl %q: %s", where, a.RedirectURL, why))
	}
	switch {
	case sp.idpCert != nil && sp.respBinding == saml.HTTPArtifactBinding && a.ArtifactResolutionURL == "":
		warns = append(warns, fmt.Sprintf("%s: -samlBinding ARTIFACT with an IdP given by -samlRedirectUrl: the proxy knows no artifact resolution service without the IdP's metadata, so artifact logins fail; add the IdP's -artifactResolutionServiceURL or -metadataUrl, or use -samlBinding POST", where))
	case a.MetadataURL != "" && a.ArtifactResolutionURL != "":
		warns = append(warns, fmt.Sprintf("%s: -artifactResolutionServiceURL %q is not used with -metadataUrl: artifacts are resolved at the ArtifactResolutionService the IdP's metadata names", where, a.ArtifactResolutionURL))
	}
	if a.RejectUnsigned == "OFF" {
		warns = append(warns, fmt.Sprintf("%s: -samlRejectUnsignedAssertion OFF is not emulated: the proxy rejects unsigned assertions, as with ON (current firmware offers only ON and STRICT); have the IdP sign its assertions", where))
	}
	if minutes, err := strconv.Atoi(a.SkewTime); err == nil && time.Duration(minutes)*time.Minute != saml.MaxClockSkew {
		warns = append(warns, fmt.Sprintf("%s: -skewTime %s is not emulated: the proxy allows %g minutes of clock skew on assertions, crewjam/saml's MaxClockSkew, one setting for the whole process (authdev's IdP checks with it too), so no samlAction can have its own; keep this machine's and the IdP's clocks within %[3]g minutes", where, a.SkewTime, saml.MaxClockSkew.Minutes()))
	}
	return sp, warns
}

// login is the SAML login sp makes of an environment whose own SAML IdP is
// dflt (nil when it has none): nil when sp names no IdP either.
func (sp samlSpec) login(dflt *devproxy.SAMLLogin) *devproxy.SAMLLogin {
	a := sp.action
	l := devproxy.SAMLLogin{Name: a.Name, UserField: a.UserField, GroupsField: a.GroupNameField, DefaultGroup: a.DefaultGroup,
		EntityID: a.IssuerName, Audience: a.Audience, Binding: sp.binding, ResponseBinding: sp.respBinding, ForceAuthn: a.ForceAuthn,
		LogoutURL: a.LogoutURL, RelayStateRule: a.RelayStateCheck, SignedResponse: a.RejectUnsigned == "STRICT"}
	if dflt != nil {
		l.Attributes = dflt.Attributes
	}
	switch {
	case a.MetadataURL != "":
		l.Metadata = a.MetadataURL
	case sp.idpCert != nil:
		l.SSOURL, l.IdPCertificate, l.ArtifactResolutionURL = a.RedirectURL, sp.idpCert, a.ArtifactResolutionURL
	case dflt == nil:
		return nil
	default:
		l.Metadata = dflt.Metadata
	}
	if sp.signer != nil {
		l.SigningKey, l.SigningCertificate = sp.signer.PrivateKey.(crypto.Signer), sp.signer.Leaf
		// The ADC's defaults, for a SAMLAction adc did not read.
		l.SignatureMethod = cmp.Or(samlSignatureMethods[a.SignatureAlg], dsig.RSASHA256SignatureMethod)
		l.DigestHash = samlDigests[a.DigestMethod]
	}
	return &l
}

// acceptAtIdP lets authdev's IdP know the proxy under sp's -samlIssuerName
// with its signing certificate: idp, in this process, is told; an IdP
// running apart reads the proxy's SP metadata (at proxyURL, the proxy's
// own URL when known) when authdev.yaml lists it.
func (sp samlSpec) acceptAtIdP(cfg *config.Config, idp *mockidp.Server, proxyURL string) []string {
	a := sp.action
	if a.IssuerName == "" && sp.signer == nil {
		return nil
	}
	entity := cmp.Or(a.IssuerName, config.ProxySAMLEntityID)
	if idp != nil {
		var cert *x509.Certificate
		if sp.signer != nil {
			cert = sp.signer.Leaf
		}
		idp.AcceptSAMLProxyAs(entity, cert)
		return nil
	}
	path := devproxy.SAMLSPMetadataPath + a.Name
	for _, s := range cfg.IDP.SAML.ServiceProviders {
		if strings.HasSuffix(s.Metadata, path) {
			return nil
		}
	}
	return []string{fmt.Sprintf("%s: authdev's IdP, running apart, knows the proxy as %q with no signing certificate until it reads the proxy's SP metadata: add `- metadata: %s%s` under idp.saml.service_providers",
		samlWhere(a), config.ProxySAMLEntityID, cmp.Or(proxyURL, cfg.Proxy.BrowserURL(cfg.Proxy.Listen)), path)}
}

// samlIdPCertificate reads the certificate of a's -samlIdPCertName, which
// signs the responses of the IdP at -samlRedirectUrl; without both, or
// without the file, it says why browsers log in at authdev's IdP instead.
// With -metadataUrl, the metadata gives both, as on the ADC.
func samlIdPCertificate(a adc.SAMLAction, authn adc.AuthnBackends) (*x509.Certificate, string) {
	if a.MetadataURL != "" || a.RedirectURL == "" && a.IdPCertName == "" {
		return nil, ""
	}
	if a.RedirectURL == "" || a.IdPCertName == "" {
		return nil, "the IdP needs both -samlRedirectUrl and -samlIdPCertName"
	}
	ck, ok := authn.CertKey(a.IdPCertName)
	if !ok {
		return nil, fmt.Sprintf("the ns.conf has no `add ssl certKey %s -cert FILE` for -samlIdPCertName: add it, with the IdP's signing certificate beside the ns.conf", a.IdPCertName)
	}
	raw, err := os.ReadFile(ck.Cert)
	if err != nil {
		return nil, fmt.Sprintf("certKey %q (%s): %v: copy the IdP's signing certificate there", ck.Name, filePos(ck.Pos), err)
	}
	if b, _ := pem.Decode(raw); b != nil {
		raw = b.Bytes
	}
	cert, err := x509.ParseCertificate(raw)
	if err != nil {
		return nil, fmt.Sprintf("certKey %q (%s): %s is not a PEM or DER certificate: %v", ck.Name, filePos(ck.Pos), ck.Cert, err)
	}
	return cert, ""
}

// samlSignatureMethods are the ADC's -signatureAlg values, samlDigests its
// -digestMethod values (adc refuses any other).
var (
	samlSignatureMethods = map[string]string{"RSA-SHA256": dsig.RSASHA256SignatureMethod, "RSA-SHA1": dsig.RSASHA1SignatureMethod}
	samlDigests          = map[string]crypto.Hash{"SHA256": crypto.SHA256, "SHA1": crypto.SHA1}
)

// samlSigning reads the certificate and key of a's -samlSigningCertName,
// which sign the AuthnRequests with -signatureAlg; nil when a names none
// or they cannot be read (the warning says why).
func samlSigning(a adc.SAMLAction, authn adc.AuthnBackends) (*tls.Certificate, string) {
	if a.SigningCertName == "" {
		return nil, ""
	}
	ck, ok := authn.CertKey(a.SigningCertName)
	if !ok {
		return nil, fmt.Sprintf("AuthnRequests go unsigned: the ns.conf has no `add ssl certKey %s -cert FILE -key FILE` for -samlSigningCertName", a.SigningCertName)
	}
	pair, err := tls.LoadX509KeyPair(ck.Cert, ck.Key)
	if _, signer := pair.PrivateKey.(crypto.Signer); err == nil && !signer {
		err = fmt.Errorf("the key of %s cannot sign", ck.Key)
	}
	if err != nil {
		return nil, fmt.Sprintf("AuthnRequests go unsigned: certKey %q (%s): %v: copy its -cert and -key files beside the ns.conf", ck.Name, filePos(ck.Pos), err)
	}
	return &pair, ""
}
