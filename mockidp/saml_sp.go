package mockidp

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/authdev/authdev/config"
)

// Bounds of reading a service provider's metadata.
const (
	maxSPMetadata   = 1 << 20
	spMetadataTTL   = 5 * time.Minute
	spFetchTimeout  = 10 * time.Second
	samlProtocolURN = "urn:oasis:names:tc:SAML:2.0:protocol"
)

// samlSP is a registered service provider: what authdev.yaml says, and
// what its metadata adds (read from a file at start, or from a URL at first
// use and again after spMetadataTTL, so the SP may start after the IdP).
type samlSP struct {
	cfg config.SAMLServiceProvider

	mu      sync.Mutex
	meta    *saml.EntityDescriptor
	fetched time.Time
	// artifactACS are the ACS URLs its metadata gives the HTTP-Artifact
	// binding. The library sees every ACS as HTTP-POST, the binding it
	// sends; WriteResponse sends artifacts to these.
	artifactACS map[string]bool
}

// samlSPs is the IdP's SAML service provider registry.
type samlSPs struct {
	cfg    *config.Config
	list   []*samlSP
	client *http.Client
	now    func() time.Time
	// proxyNames are the entity ids the proxy goes by besides
	// config.ProxySAMLEntityID (an ns.conf's -samlIssuerName), to the
	// certificate its AuthnRequests are signed with, nil for none.
	proxyNames sync.Map
}

// AcceptSAMLProxyAs lets the proxy log in under entityID (an ns.conf's
// samlAction -samlIssuerName, or config.ProxySAMLEntityID), with the
// built-in proxy's assertion consumer services and, when signing is set,
// AuthnRequests signed with that certificate (-samlSigningCertName).
func (s *Server) AcceptSAMLProxyAs(entityID string, signing *x509.Certificate) {
	s.samlSPs.proxyNames.Store(entityID, signing)
}

func newSAMLSPs(cfg *config.Config, now func() time.Time) (*samlSPs, error) {
	r := &samlSPs{cfg: cfg, client: &http.Client{Timeout: spFetchTimeout}, now: now}
	for _, c := range cfg.IDP.SAML.ServiceProviders {
		sp := &samlSP{cfg: c}
		if c.Metadata != "" && !c.IsURL() {
			if _, err := r.metadata(context.Background(), sp); err != nil {
				return nil, err
			}
		}
		r.list = append(r.list, sp)
	}
	return r, nil
}

// where names a service provider's place in authdev.yaml for errors.
func where(c config.SAMLServiceProvider) string {
	if c.Pos.File == "" {
		return "idp.saml.service_providers"
	}
	return fmt.Sprintf("%s:%d", c.Pos.File, c.Pos.Line)
}

// lookup finds the service provider entityID: the proxy, a configured one,
// or one whose metadata URL names it. It returns os.ErrNotExist for an
// unknown SP, as saml.ServiceProviderProvider requires.
func (r *samlSPs) lookup(ctx context.Context, entityID, acs string) (*saml.EntityDescriptor, *config.SAMLServiceProvider, error) {
	if signing, alias := r.proxyNames.Load(entityID); alias || entityID == config.ProxySAMLEntityID {
		var keys []saml.KeyDescriptor
		if cert, _ := signing.(*x509.Certificate); cert != nil {
			keys = []saml.KeyDescriptor{{Use: "signing", KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
				X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(cert.Raw)}}}}}}
		}
		return r.proxyMetadata(entityID, acs, keys), nil, nil
	}
	// An SP known only by a metadata URL may not be up yet: its error says
	// so, and the next request reads the metadata again.
	var unread error
	for _, sp := range r.list {
		if sp.cfg.EntityID != "" && sp.cfg.EntityID != entityID {
			continue
		}
		ed, err := r.metadata(ctx, sp)
		if err != nil {
			if sp.cfg.EntityID == entityID {
				return nil, nil, err
			}
			unread = errors.Join(unread, err)
			continue
		}
		if ed.EntityID == entityID {
			return ed, &sp.cfg, nil
		}
	}
	if unread != nil {
		return nil, nil, unread
	}
	return nil, nil, os.ErrNotExist
}

// configOf is what authdev.yaml says of the SP entityID; the zero value
// (defaults: email NameID, everything signed) for the proxy.
func (r *samlSPs) configOf(entityID string) config.SAMLServiceProvider {
	for _, sp := range r.list {
		sp.mu.Lock()
		match := sp.cfg.EntityID == entityID || sp.meta != nil && sp.meta.EntityID == entityID
		sp.mu.Unlock()
		if match {
			return sp.cfg
		}
	}
	return config.SAMLServiceProvider{}
}

// proxyMetadata describes the proxy of `authdev up`: like the built-in OIDC
// client, its assertion consumer service is /cgi/samlauth on any loopback
// name and port, or on proxy.public_url; its single logout service, where
// LogoutResponses go, is /cgi/tmlogout beside it. IdP-initiated logins (no request,
// so no acs) go to proxy.public_url or proxy.listen.
func (r *samlSPs) proxyMetadata(entityID, acs string, keys []saml.KeyDescriptor) *saml.EntityDescriptor {
	locations := []string{r.cfg.Proxy.BrowserURL(r.cfg.Proxy.Listen) + config.SAMLACSPath}
	if u, err := url.Parse(acs); err == nil && isLoopback(u) && u.Path == config.SAMLACSPath && u.RawQuery == "" {
		locations = append(locations, acs)
	}
	ed := spDescriptor(entityID, locations, keys)
	slo := strings.TrimSuffix(locations[len(locations)-1], config.SAMLACSPath) + config.ProxyLogoutPath
	ed.SPSSODescriptors[0].SingleLogoutServices = []saml.Endpoint{{Binding: saml.HTTPRedirectBinding, Location: slo}}
	return ed
}

// metadata is sp's EntityDescriptor: its metadata with what authdev.yaml
// writes laid over it.
func (r *samlSPs) metadata(ctx context.Context, sp *samlSP) (*saml.EntityDescriptor, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	c := sp.cfg
	if sp.meta != nil && (!c.IsURL() || r.now().Sub(sp.fetched) < spMetadataTTL) {
		return sp.meta, nil
	}
	ed := &saml.EntityDescriptor{}
	if c.Metadata != "" {
		raw, err := r.readMetadata(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("%s: metadata of service provider %q: %w", where(c), c.EntityID, err)
		}
		if c.EntityID != "" {
			ed, err = samlsp.ParseMetadataByEntityID(raw, c.EntityID)
		} else {
			ed, err = samlsp.ParseMetadata(raw)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: metadata %q is not SAML metadata the IdP can use (%v): give the SP's EntityDescriptor", where(c), c.Metadata, err)
		}
	}
	if c.EntityID != "" {
		ed.EntityID = c.EntityID
	}
	var sso *saml.SPSSODescriptor
	if len(ed.SPSSODescriptors) > 0 {
		sso = &ed.SPSSODescriptors[0]
	}
	acs := c.ACS()
	artifactACS := map[string]bool{}
	if len(acs) == 0 && sso != nil {
		post := map[string]bool{}
		for _, ep := range sso.AssertionConsumerServices {
			post[ep.Location] = post[ep.Location] || ep.Binding == saml.HTTPPostBinding
		}
		for _, ep := range sso.AssertionConsumerServices {
			switch {
			case ep.Binding == saml.HTTPPostBinding:
				acs = append(acs, ep.Location)
			case ep.Binding == saml.HTTPArtifactBinding && !post[ep.Location]:
				// At a URL that takes both, HTTP-POST unless the
				// AuthnRequest asks for artifacts.
				artifactACS[ep.Location] = true
				acs = append(acs, ep.Location)
			}
		}
	}
	keys, err := spKeys(c, sso)
	if err != nil {
		return nil, err
	}
	out := spDescriptor(ed.EntityID, acs, keys)
	if sso != nil {
		// AuthnRequestsSigned makes crewjam/saml refuse the SP's unsigned
		// AuthnRequests.
		out.SPSSODescriptors[0].AttributeConsumingServices = sso.AttributeConsumingServices
		out.SPSSODescriptors[0].SingleLogoutServices = sso.SingleLogoutServices
		out.SPSSODescriptors[0].AuthnRequestsSigned = sso.AuthnRequestsSigned
	}
	sp.meta, sp.fetched, sp.artifactACS = out, r.now(), artifactACS
	return out, nil
}

// artifactACS reports whether the metadata of the SP entityID gives its
// ACS at location the HTTP-Artifact binding.
func (r *samlSPs) artifactACS(entityID, location string) bool {
	for _, sp := range r.list {
		sp.mu.Lock()
		match := sp.meta != nil && sp.meta.EntityID == entityID && sp.artifactACS[location]
		sp.mu.Unlock()
		if match {
			return true
		}
	}
	return false
}

func (r *samlSPs) readMetadata(ctx context.Context, c config.SAMLServiceProvider) ([]byte, error) {
	if !c.IsURL() {
		f, err := os.Open(c.Metadata)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readBounded(f)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Metadata, nil)
	if err != nil {
		return nil, err
	}
	res, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w: is the service provider running?", c.Metadata, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: status %s", c.Metadata, res.Status)
	}
	return readBounded(res.Body)
}

func readBounded(rd io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(rd, maxSPMetadata+1))
	if err == nil && len(raw) > maxSPMetadata {
		err = fmt.Errorf("larger than %d bytes", maxSPMetadata)
	}
	return raw, err
}

// spKeys are the SP's key descriptors: its signing keys from metadata
// (for signed AuthnRequests and LogoutRequests), and the key assertions are
// encrypted to when encrypt_assertion, from the configured certificate or
// the metadata. crewjam/saml encrypts to any encryption key it finds, so
// none is kept otherwise.
func spKeys(c config.SAMLServiceProvider, sso *saml.SPSSODescriptor) ([]saml.KeyDescriptor, error) {
	var signing []saml.KeyDescriptor
	var encryption *saml.KeyDescriptor
	if sso != nil {
		for _, k := range sso.KeyDescriptors {
			if k.Use == "encryption" || k.Use == "" {
				if encryption == nil {
					encryption = &saml.KeyDescriptor{Use: "encryption", KeyInfo: k.KeyInfo, EncryptionMethods: k.EncryptionMethods}
				}
			}
			if k.Use == "signing" || k.Use == "" {
				signing = append(signing, saml.KeyDescriptor{Use: "signing", KeyInfo: k.KeyInfo})
			}
		}
	}
	if !c.EncryptAssertion {
		return signing, nil
	}
	if c.Certificate != "" {
		raw, err := os.ReadFile(c.Certificate)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate of service provider %q: %w", where(c), c.EntityID, err)
		}
		block, _ := pem.Decode(raw)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: certificate %q of service provider %q is not a PEM certificate", where(c), c.Certificate, c.EntityID)
		}
		encryption = &saml.KeyDescriptor{Use: "encryption", KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
			X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(block.Bytes)}}}}}
	}
	if encryption == nil {
		return nil, fmt.Errorf("%s: service provider %q has encrypt_assertion but neither a certificate nor an encryption key in its metadata", where(c), c.EntityID)
	}
	return append(signing, *encryption), nil
}

// spDescriptor is the metadata of an SP that receives HTTP-POST responses
// at acs, the first being the default.
func spDescriptor(entityID string, acs []string, keys []saml.KeyDescriptor) *saml.EntityDescriptor {
	eps := make([]saml.IndexedEndpoint, len(acs))
	for i, loc := range acs {
		isDefault := i == 0
		eps[i] = saml.IndexedEndpoint{Binding: saml.HTTPPostBinding, Location: loc, Index: i, IsDefault: &isDefault}
	}
	return &saml.EntityDescriptor{EntityID: entityID, SPSSODescriptors: []saml.SPSSODescriptor{{
		SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{
			ProtocolSupportEnumeration: samlProtocolURN, KeyDescriptors: keys}},
		AssertionConsumerServices: eps,
	}}}
}
