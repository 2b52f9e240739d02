package devproxy

import (
	"encoding/xml"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/crewjam/saml"
)

// SAMLSPMetadataPath + a samlAction's name is where the ADC publishes its
// SP metadata (entity id, assertion consumer service, signing
// certificate), for IdPs that read their service providers from a URL.
const SAMLSPMetadataPath = "/metadata/samlsp/"

// samlSPMetadata answers SAMLSPMetadataPath + name with the metadata of the
// SAML login (of Environment.SAMLLogins) called name, in the active
// environment or else the first that has it.
func (p *Proxy) samlSPMetadata(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, SAMLSPMetadataPath)
	g := p.rt()
	var login *SAMLLogin
	envs := []*envState{g.env(p.active.Load().Env)}
	for _, en := range g.envOrder {
		envs = append(envs, g.envs[en])
	}
	for _, env := range envs {
		for _, l := range env.SAMLLogins {
			if login == nil && l.Name == name && name != "" {
				login = l
			}
		}
	}
	if login == nil {
		p.errorPage(w, r, http.StatusNotFound, "Not found", "The proxy has no samlAction "+name+".",
			"the metadata of a samlAction of the ns.conf is at "+SAMLSPMetadataPath+"NAME")
		return
	}
	origin := p.origin(r)
	sp, err := login.spOf(origin+SAMLACSPath, p.now())
	if err != nil {
		p.errorPage(w, r, http.StatusInternalServerError, "Internal error", "The SP metadata could not be built.", err.Error())
		return
	}
	sp.AssertionConsumerServiceBindings = []string{saml.HTTPPostBinding}
	sp.LogoutBindings = []string{saml.HTTPRedirectBinding}
	md := sp.Metadata()
	md.SPSSODescriptors[0].AssertionConsumerServices = acsEndpoints(origin)
	raw, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		p.errorPage(w, r, http.StatusInternalServerError, "Internal error", "The SP metadata could not be written.", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Write(append([]byte(xml.Header), raw...))
}

// acsEndpoints are the assertion consumer services at origin and, for a
// loopback origin, at the same port under every loopback name, since a
// login started on one name completes on it.
func acsEndpoints(origin string) []saml.IndexedEndpoint {
	origins := []string{origin}
	if u, err := url.Parse(origin); err == nil && isLoopbackHost(u.Host) {
		origins = nil
		for _, host := range []string{"localhost", "127.0.0.1", "[::1]"} {
			if u.Port() != "" {
				host = net.JoinHostPort(strings.Trim(host, "[]"), u.Port())
			}
			origins = append(origins, u.Scheme+"://"+host)
		}
	}
	eps := make([]saml.IndexedEndpoint, len(origins))
	for i, o := range origins {
		isDefault := o == origin
		eps[i] = saml.IndexedEndpoint{Binding: saml.HTTPPostBinding, Location: o + SAMLACSPath, Index: i + 1, IsDefault: &isDefault}
	}
	return eps
}
