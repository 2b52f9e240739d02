package stack

import (
	"encoding/base64"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
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
// process of its own (`authdev proxy` with the ns.conf), both reading one
// authdev.yaml, the proxy publishes each samlAction's SP metadata at
// /metadata/samlsp/NAME, as the appliance does (its built-in is_vpn_url
// expression serves "/metadata/samlsp/"): -samlIssuerName as entity id,
// the assertion consumer service on every loopback name, the certificate
// of -samlSigningCertName and AuthnRequestsSigned. The IdP, started first,
// reads it from idp.saml.service_providers[].metadata: while the proxy is
// down an AuthnRequest gets a page saying so; once it is up, signed
// AuthnRequests log in and an unsigned one is refused.
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
func TestAnIdPRunningApartReadsTheProxysSPMetadata(t *testing.T) {
	dir := t.TempDir()
	cert := writeSigningCertKey(t, dir)
	idpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The proxy's port, free once more: it starts after the IdP.
	proxyAddr := testkit.FreeLoopbackAddr(t)
	proxyURL := "http://" + proxyAddr
	mdURL := proxyURL + devproxy.SAMLSPMetadataPath + "saml_sp"
	testkit.WriteFiles(t, dir, map[string]string{
		"ns.conf": `add ssl certKey sp_cert -cert sp.crt -key sp.key
add authentication samlAction saml_sp -samlUserField email -samlSigningCertName sp_cert -samlIssuerName "https://app.example.com/sp" -samlBinding POST
add authentication Policy saml_pol -rule true -action saml_sp
set tm sessionParameter -defaultAuthorizationAction ALLOW
`,
		"authdev.yaml": "personas:\n  alice: {email: alice@example.com}\nenvironments:\n  dev: {flavor: okta}\nproxy:\n  tls: false\n  listen: " + proxyAddr +
			"\n  adc_config: ns.conf\nidp:\n  listen: " + idpLn.Addr().String() + "\n  saml:\n    service_providers:\n      - metadata: " + mdURL + "\n",
	})
	cfg, err := testkit.LoadFile(filepath.Join(dir, "authdev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	idp, err := mockidp.New(cfg, mockidp.Options{Store: state.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.Start(idpLn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	idpMD, err := samlsp.FetchMetadata(t.Context(), http.DefaultClient, *mustURL(t, idp.SAMLEndpoints("dev").Metadata))
	if err != nil {
		t.Fatal(err)
	}
	unsigned := func(t *testing.T) (int, string) {
		sp := saml.ServiceProvider{EntityID: "https://app.example.com/sp", AcsURL: *mustURL(t, proxyURL+"/cgi/samlauth"), IDPMetadata: idpMD}
		u, err := sp.MakeRedirectAuthenticationRequest("")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(u.String() + "&login_hint=alice")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, html.UnescapeString(string(b))
	}
	if code, b := unsigned(t); code == http.StatusOK || !strings.Contains(b, mdURL) || !strings.Contains(b, "is the service provider running?") {
		t.Fatalf("with the proxy down, an AuthnRequest got %d, want a page naming the SP metadata it cannot read:\n%s", code, b)
	}

	p, err := Proxy(Options{Config: cfg, Store: state.NewMemory(), ProxyListen: proxyAddr, Persona: "alice", Upstream: "api=" + whoBackend(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown(t.Context()) })
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(p.Warnings(), "\n"); strings.Contains(w, "saml_sp") {
		t.Errorf("warnings about the samlAction, though authdev.yaml lists its SP metadata:\n%s", w)
	}

	md := fetchSPMetadata(t, mdURL)
	sso := md.SPSSODescriptors[0]
	var acs []string
	for _, ep := range sso.AssertionConsumerServices {
		acs = append(acs, ep.Location)
	}
	local := strings.Replace(proxyURL, "127.0.0.1", "localhost", 1)
	if md.EntityID != "https://app.example.com/sp" || sso.AuthnRequestsSigned == nil || !*sso.AuthnRequestsSigned ||
		!slices.Contains(acs, proxyURL+"/cgi/samlauth") || !slices.Contains(acs, local+"/cgi/samlauth") {
		t.Fatalf("the SP metadata: entity %q, AuthnRequestsSigned %v, ACS %v", md.EntityID, sso.AuthnRequestsSigned, acs)
	}
	if !spSigningCertIs(sso, cert.Raw) {
		t.Errorf("the SP metadata's signing key is not -samlSigningCertName's certificate: %+v", sso.KeyDescriptors)
	}
	for _, origin := range []string{proxyURL, local} {
		c, resp := p.browse(t, origin+"/x")
		idpForm := postSAMLForm(t, c, resp)
		if code, b := finishSAMLLogin(t, c, idpForm); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
			t.Fatalf("the signed login at %s answered %d:\n%s", origin, code, b)
		}
	}
	if code, b := unsigned(t); code == http.StatusOK || strings.Contains(b, "SAMLResponse") || !strings.Contains(strings.ToLower(b), "sign") {
		t.Fatalf("an unsigned AuthnRequest of an SP whose metadata says AuthnRequestsSigned got %d:\n%s", code, b)
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
