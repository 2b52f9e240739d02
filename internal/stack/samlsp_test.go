package stack

import (
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/internal/testkit"
	"github.com/authdev/authdev/mockidp"
)

// With authdev's IdP running apart (`authdev idp`) and the proxy in a
// process of its own (`authdev proxy` with the ns.conf), the proxy
// publishes each samlAction's SP metadata at /metadata/samlsp/NAME, as the
// appliance does (its built-in is_vpn_url expression serves
// "/metadata/samlsp/"): -samlIssuerName as entity id, the assertion
// consumer service on every loopback name, the certificate of
// -samlSigningCertName and AuthnRequestsSigned. The IdP, started first,
// reads it from idp.saml.service_providers[].metadata at the first
// AuthnRequest: signed ones log in; an unsigned one is refused.
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
func TestAnIdPRunningApartReadsTheProxysSPMetadata(t *testing.T) {
	dir := t.TempDir()
	cert := writeSigningCertKey(t, dir)
	testkit.WriteFiles(t, dir, map[string]string{"ns.conf": `add ssl certKey sp_cert -cert sp.crt -key sp.key
add authentication samlAction saml_sp -samlUserField email -samlSigningCertName sp_cert -samlIssuerName "https://app.example.com/sp" -samlBinding POST
add authentication Policy saml_pol -rule true -action saml_sp
set tm sessionParameter -defaultAuthorizationAction ALLOW
`})
	idpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	common := "personas:\n  alice: {email: alice@example.com}\nenvironments:\n  dev: {flavor: okta}\nproxy:\n  tls: false\n  adc_config: ns.conf\nidp:\n  listen: " + idpLn.Addr().String() + "\n"
	testkit.WriteFiles(t, dir, map[string]string{"proxy.yaml": common})
	proxyCfg, err := testkit.LoadFile(filepath.Join(dir, "proxy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The proxy listens (its URL is known) but serves only after the IdP
	// has started.
	p, err := Proxy(Options{Config: proxyCfg, Store: state.NewMemory(), ProxyListen: "127.0.0.1:0", Persona: "alice", Upstream: "api=" + whoBackend(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown(t.Context()) })
	mdURL := p.ProxyURL() + devproxy.SAMLSPMetadataPath + "saml_sp"
	testkit.WriteFiles(t, dir, map[string]string{"idp.yaml": common + "  saml:\n    service_providers:\n      - metadata: " + mdURL + "\n"})
	idpCfg, err := testkit.LoadFile(filepath.Join(dir, "idp.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	idp, err := mockidp.New(idpCfg, mockidp.Options{Store: state.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.Start(idpLn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	// The proxy's authdev.yaml does not list its metadata: the warning
	// says what the IdP's needs.
	if w := strings.Join(p.Warnings(), "\n"); !strings.Contains(w, "add `- metadata: "+mdURL+"` under idp.saml.service_providers") {
		t.Errorf("the warnings do not say where the IdP reads the proxy's SP metadata:\n%s", w)
	}

	md := fetchSPMetadata(t, mdURL)
	sso := md.SPSSODescriptors[0]
	var acs []string
	for _, ep := range sso.AssertionConsumerServices {
		acs = append(acs, ep.Location)
	}
	local := strings.Replace(p.ProxyURL(), "127.0.0.1", "localhost", 1)
	if md.EntityID != "https://app.example.com/sp" || sso.AuthnRequestsSigned == nil || !*sso.AuthnRequestsSigned ||
		!strings.Contains(strings.Join(acs, " "), p.ProxyURL()+"/cgi/samlauth") || !strings.Contains(strings.Join(acs, " "), local+"/cgi/samlauth") {
		t.Fatalf("the SP metadata: entity %q, AuthnRequestsSigned %v, ACS %v", md.EntityID, sso.AuthnRequestsSigned, acs)
	}
	if !spSigningCertIs(sso, cert.Raw) {
		t.Errorf("the SP metadata's signing key is not -samlSigningCertName's certificate: %+v", sso.KeyDescriptors)
	}

	for _, origin := range []string{p.ProxyURL(), local} {
		c, resp := p.browse(t, origin+"/x")
		idpForm := postSAMLForm(t, c, resp)
		if code, b := finishSAMLLogin(t, c, idpForm); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
			t.Fatalf("the signed login at %s answered %d:\n%s", origin, code, b)
		}
	}

	// The same SP's AuthnRequest without a signature is refused.
	idpMD, err := samlsp.FetchMetadata(t.Context(), http.DefaultClient, *mustURL(t, idp.SAMLEndpoints("dev").Metadata))
	if err != nil {
		t.Fatal(err)
	}
	unsigned := saml.ServiceProvider{EntityID: md.EntityID, AcsURL: *mustURL(t, p.ProxyURL()+"/cgi/samlauth"), IDPMetadata: idpMD}
	u, err := unsigned.MakeRedirectAuthenticationRequest("")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String() + "&login_hint=alice")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || strings.Contains(string(b), "SAMLResponse") || !strings.Contains(strings.ToLower(string(b)), "sign") {
		t.Fatalf("an unsigned AuthnRequest of an SP whose metadata says AuthnRequestsSigned got %d:\n%s", resp.StatusCode, b)
	}
}

func fetchSPMetadata(t *testing.T, u string) *saml.EntityDescriptor {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	md, err := samlsp.ParseMetadata(raw)
	if err != nil || resp.StatusCode != http.StatusOK || len(md.SPSSODescriptors) == 0 {
		t.Fatalf("GET %s: %d %v\n%s", u, resp.StatusCode, err, raw)
	}
	return md
}

// spSigningCertIs reports that sso's signing key is the certificate der.
func spSigningCertIs(sso saml.SPSSODescriptor, der []byte) bool {
	for _, k := range sso.KeyDescriptors {
		for _, c := range k.KeyInfo.X509Data.X509Certificates {
			if k.Use == "signing" && strings.Join(strings.Fields(c.Data), "") == base64.StdEncoding.EncodeToString(der) {
				return true
			}
		}
	}
	return false
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
