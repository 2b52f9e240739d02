package stack

import (
	"cmp"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"

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

// SAMLActions applies an ns.conf's `add authentication samlAction`: as on
// the ADC, browsers then log in with SAML, at -samlRedirectUrl with the
// certificate of -samlIdPCertName's certKey when that file is at hand,
// else at authdev's IdP (whose persona is the user); -samlUserField names
// the attribute that becomes AAA.USER.NAME and -samlIssuerName is the
// proxy's entity id, which idp (authdev's IdP in this process; nil when it
// runs elsewhere) then accepts besides config.ProxySAMLEntityID. It
// returns warnings for what it cannot follow.
func SAMLActions(opts *devproxy.Options, cfg *config.Config, authn adc.AuthnBackends, idp *mockidp.Server) []string {
	actions := authn.SAML
	if len(actions) == 0 {
		return nil
	}
	a := actions[0]
	var warns []string
	ownIdP := false
	where := fmt.Sprintf("samlAction %q (%s)", a.Name, filePos(a.Pos))
	if len(actions) > 1 {
		warns = append(warns, fmt.Sprintf("%s: the ns.conf has %d samlActions; the proxy logs in with the first", where, len(actions)))
	}
	binding := saml.HTTPPostBinding
	switch a.Binding {
	case "REDIRECT":
		binding = saml.HTTPRedirectBinding
	case "ARTIFACT":
		binding = saml.HTTPRedirectBinding
		warns = append(warns, fmt.Sprintf("%s: -samlBinding ARTIFACT is not emulated: the proxy sends its AuthnRequest by HTTP-Redirect and takes the IdP's response by HTTP-POST; use POST or REDIRECT", where))
	}
	signer, method, signWarns := samlSigning(a, authn)
	for _, w := range signWarns {
		warns = append(warns, where+": "+w)
	}
	idpCert, why := samlIdPCertificate(a, authn)
	if why != "" {
		warns = append(warns, fmt.Sprintf("%s: browsers log in at authdev's SAML IdP, not at -samlRedirectUrl %q: %s", where, a.RedirectURL, why))
	}
	for i := range opts.Environments {
		env := &opts.Environments[i]
		if idpCert != nil {
			var names config.SAMLAttributeNames
			if env.SAML != nil {
				names = env.SAML.Attributes
			}
			env.SAML = &devproxy.SAMLLogin{SSOURL: a.RedirectURL, IdPCertificate: idpCert, Attributes: names}
		}
		if env.SAML == nil {
			warns = append(warns, fmt.Sprintf("%s: environment %q has no SAML IdP: its browser logins stay OIDC", where, env.Name))
			continue
		}
		env.Login = config.LoginSAML
		if a.UserField != "" {
			env.UserNameClaim = a.UserField
		}
		env.SAML.EntityID, env.SAML.Binding, env.SAML.LogoutURL = a.IssuerName, binding, a.LogoutURL
		env.SAML.RelayStateRule = a.RelayStateCheck
		if signer != nil {
			env.SAML.SigningKey, env.SAML.SigningCertificate, env.SAML.SignatureMethod = signer.PrivateKey.(crypto.Signer), signer.Leaf, method
		}
		if e, ok := cfg.Environment(env.Name); idpCert == nil && (!ok || e.SAMLMetadata == "") {
			ownIdP = true
		}
	}
	entity := cmp.Or(a.IssuerName, config.ProxySAMLEntityID)
	switch {
	case !ownIdP || a.IssuerName == "" && signer == nil:
	case idp != nil:
		var cert *x509.Certificate
		if signer != nil {
			cert = signer.Leaf
		}
		idp.AcceptSAMLProxyAs(entity, cert)
	default:
		warns = append(warns, fmt.Sprintf("%s: authdev's IdP, running apart, knows the proxy as %q with no signing certificate: register -samlIssuerName %q under idp.saml.service_providers (entity_id, acs_url: the proxy's %s, metadata with the certificate of -samlSigningCertName)",
			where, config.ProxySAMLEntityID, entity, devproxy.SAMLACSPath))
	}
	return warns
}

// samlIdPCertificate reads the certificate of a's -samlIdPCertName, which
// signs the responses of the IdP at -samlRedirectUrl; without both, or
// without the file, it says why browsers log in at authdev's IdP instead.
func samlIdPCertificate(a adc.SAMLAction, authn adc.AuthnBackends) (*x509.Certificate, string) {
	if a.RedirectURL == "" && a.IdPCertName == "" {
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

// samlSignatureMethods are the ADC's -signatureAlg values, with the
// -digestMethod each one signs with (crewjam/saml hashes the digest with
// the signature's hash).
var samlSignatureMethods = map[string]struct{ uri, digest string }{
	"RSA-SHA256": {dsig.RSASHA256SignatureMethod, "SHA256"},
	"RSA-SHA1":   {dsig.RSASHA1SignatureMethod, "SHA1"},
}

// samlSigning reads the certificate and key of a's -samlSigningCertName,
// which sign the AuthnRequests with -signatureAlg; nil when a names none
// or they cannot be read (a warning says why).
func samlSigning(a adc.SAMLAction, authn adc.AuthnBackends) (*tls.Certificate, string, []string) {
	if a.SigningCertName == "" {
		return nil, "", nil
	}
	ck, ok := authn.CertKey(a.SigningCertName)
	if !ok {
		return nil, "", []string{fmt.Sprintf("AuthnRequests go unsigned: the ns.conf has no `add ssl certKey %s -cert FILE -key FILE` for -samlSigningCertName", a.SigningCertName)}
	}
	pair, err := tls.LoadX509KeyPair(ck.Cert, ck.Key)
	if _, signer := pair.PrivateKey.(crypto.Signer); err == nil && !signer {
		err = fmt.Errorf("the key of %s cannot sign", ck.Key)
	}
	if err != nil {
		return nil, "", []string{fmt.Sprintf("AuthnRequests go unsigned: certKey %q (%s): %v: copy its -cert and -key files beside the ns.conf", ck.Name, filePos(ck.Pos), err)}
	}
	m, ok := samlSignatureMethods[a.SignatureAlg]
	var warns []string
	if !ok {
		m = samlSignatureMethods["RSA-SHA256"]
		warns = append(warns, fmt.Sprintf("-signatureAlg %q is not one of RSA-SHA256 and RSA-SHA1: AuthnRequests are signed with RSA-SHA256", a.SignatureAlg))
	}
	if a.DigestMethod != m.digest {
		warns = append(warns, fmt.Sprintf("-digestMethod %s is not emulated with -signatureAlg %s: the digest is %s; set -digestMethod %s", a.DigestMethod, a.SignatureAlg, m.digest, m.digest))
	}
	return &pair, m.uri, warns
}
