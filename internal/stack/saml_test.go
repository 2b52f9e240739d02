package stack

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"html"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/testkit"
)

// An ns.conf's samlAction makes the proxy a SAML SP, as on the ADC:
// https://docs.citrix.com/en-us/citrix-adc/current-release/aaa-tm/authentication-methods/saml-authentication/citrix-adc-saml-sp.html
// -samlIssuerName is the proxy's entity id in its AuthnRequests and the
// audience it expects; authdev's IdP accepts it as the proxy's:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
func TestAnNSConfSAMLActionMakesBrowserLoginsSAML(t *testing.T) {
	s := startSAMLStack(t, t.TempDir(), "entra", `add authentication samlAction saml_idp -samlIdPCertName idp_cert -samlRedirectUrl "https://idp.example.com/sso" -samlUserField "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress" -samlIssuerName "https://app.example.com" -samlBinding REDIRECT
add authentication Policy saml_pol -rule true -action saml_idp
`)
	warns := strings.Join(s.Warnings(), "\n")
	for _, want := range []string{`samlAction "saml_idp"`, "authdev's SAML IdP", "add ssl certKey idp_cert"} {
		if !strings.Contains(warns, want) {
			t.Errorf("warnings lack %q:\n%s", want, warns)
		}
	}
	if strings.Contains(warns, "-samlIssuerName") {
		t.Errorf("authdev's IdP should accept -samlIssuerName:\n%s", warns)
	}
	c, resp := s.browse(t, s.ProxyURL()+"/")
	if loc := resp.Request.URL.String(); resp.StatusCode != http.StatusOK || !strings.Contains(loc, "/dev/saml/sso?SAMLRequest=") {
		t.Fatalf("with a samlAction the browser lands at %s (%d), want the IdP's SAML SSO service", loc, resp.StatusCode)
	}
	if iss := authnRequestIssuer(t, resp.Request.URL); iss != "https://app.example.com" {
		t.Errorf("the AuthnRequest's Issuer is %q, want -samlIssuerName", iss)
	}
	if code, b := finishSAMLLogin(t, c, resp); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
		t.Fatalf("the login as https://app.example.com answered %d:\n%s", code, b)
	}
}

// authnRequestIssuer reads the Issuer of the HTTP-Redirect binding's
// deflated AuthnRequest in u.
func authnRequestIssuer(t *testing.T, u *url.URL) string {
	t.Helper()
	return authnRequestOf(t, u).Issuer.Value
}

// authnRequestOf reads the HTTP-Redirect binding's deflated AuthnRequest
// in u.
func authnRequestOf(t *testing.T, u *url.URL) *saml.AuthnRequest {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(u.Query().Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return parseAuthnRequest(t, x)
}

// issuerOf reads the Issuer of an AuthnRequest's XML.
func issuerOf(t *testing.T, x []byte) string {
	t.Helper()
	return parseAuthnRequest(t, x).Issuer.Value
}

// parseAuthnRequest reads an AuthnRequest's XML, which has an Issuer.
func parseAuthnRequest(t *testing.T, x []byte) *saml.AuthnRequest {
	t.Helper()
	var req saml.AuthnRequest
	if err := xml.Unmarshal(x, &req); err != nil || req.Issuer == nil {
		t.Fatalf("AuthnRequest %s: %v", x, err)
	}
	return &req
}

// samlFormRE reads an auto-submitting HTTP-POST form: the proxy's
// AuthnRequest or the IdP's response.
var (
	samlFormRE  = regexp.MustCompile(`<form method="post" action="([^"]*)" id="saml">`)
	samlFieldRE = regexp.MustCompile(`<input type="hidden" name="(SAMLRequest|SAMLResponse|RelayState)" value="([^"]*)">`)
)

// postSAMLForm submits the SAML form in resp as a browser does.
func postSAMLForm(t *testing.T, c *http.Client, resp *http.Response) *http.Response {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := samlFormRE.FindSubmatch(b)
	if m == nil {
		t.Fatalf("at %s (%d) no SAML form:\n%s", resp.Request.URL, resp.StatusCode, b)
	}
	form := url.Values{}
	for _, f := range samlFieldRE.FindAllSubmatch(b, -1) {
		form.Set(string(f[1]), html.UnescapeString(string(f[2])))
	}
	out, err := c.PostForm(html.UnescapeString(string(m[1])), form)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// startSAMLStack runs `authdev up` as alice in front of whoBackend, with
// nsconf (authorizing everyone) in dir and one environment of flavor.
func startSAMLStack(t *testing.T, dir, flavor, nsconf string) *Stack {
	t.Helper()
	return startSAMLStackOf(t, dir, "alice: {email: alice@example.com}", flavor, nsconf)
}

// startSAMLStackOf is startSAMLStack with alice as the YAML persona gives
// her.
func startSAMLStackOf(t *testing.T, dir, persona, flavor, nsconf string) *Stack {
	t.Helper()
	return startUp(t, Options{Config: samlStackConfig(t, dir, persona, flavor, nsconf, ""), Persona: "alice", Upstream: "api=" + whoBackend(t)})
}

// samlStackConfig writes nsconf (authorizing everyone) and an authdev.yaml
// with persona, one environment of flavor and more in dir, and loads it.
func samlStackConfig(t *testing.T, dir, persona, flavor, nsconf, more string) *config.Config {
	t.Helper()
	// Under AAA-TM the ADC denies by default; the tests look at logins.
	nsconf += "set tm sessionParameter -defaultAuthorizationAction ALLOW\n"
	testkit.WriteFiles(t, dir, map[string]string{"ns.conf": nsconf,
		"authdev.yaml": "personas:\n  " + persona + "\nenvironments:\n  dev: {flavor: " + flavor + "}\nproxy:\n  tls: false\n  adc_config: ns.conf\n" + more})
	cfg, err := testkit.LoadFile(filepath.Join(dir, "authdev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// browse is a new browser's visit to u.
func (s *Stack) browse(t *testing.T, u string) (*http.Client, *http.Response) {
	t.Helper()
	c := s.client(t)
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return c, resp
}

// finishSAMLLogin submits the IdP's form in resp to the proxy and returns
// the answer's status and (unescaped) body.
func finishSAMLLogin(t *testing.T, c *http.Client, resp *http.Response) (int, string) {
	t.Helper()
	out := postSAMLForm(t, c, resp)
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	return out.StatusCode, html.UnescapeString(string(b))
}

// otherSAMLIdP is authdev's IdP in a stack of its own, standing for an IdP
// that is not the proxy's, and the PEM of its signing certificate, as an
// ADC administrator copies it from its metadata.
func otherSAMLIdP(t *testing.T) (other *Stack, certPEM []byte) {
	return otherSAMLIdPOf(t, nil)
}

// otherSAMLIdPOf is otherSAMLIdP with cfg (nil: the built-in one).
func otherSAMLIdPOf(t *testing.T, cfg *config.Config) (other *Stack, certPEM []byte) {
	other = startUp(t, Options{Config: cfg})
	ep := other.IdP().SAMLEndpoints("dev")
	resp, err := http.Get(ep.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	md, err := samlsp.ParseMetadata(raw)
	if err != nil {
		t.Fatal(err)
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(md.IDPSSODescriptors[0].KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data), ""))
	if err != nil {
		t.Fatal(err)
	}
	return other, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// -samlRedirectUrl and -samlIdPCertName (its certKey's -cert, beside the
// ns.conf) name the IdP browsers log in at and the certificate its
// responses must be signed with:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
// https://docs.citrix.com/ko-kr/netscaler/11-1/reference/netscaler-command-reference/authentication/authentication-samlaction.html
func TestASAMLActionLogsInAtTheIdPOfItsRedirectURLAndCertificate(t *testing.T) {
	other, certPEM := otherSAMLIdP(t)
	sso := other.IdP().SAMLEndpoints("dev").SSO
	withEachIdPCertificate(t, certPEM, func(t *testing.T, cert []byte, want int) {
		s := stackAtOtherIdP(t, cert, `add authentication samlAction saml_other -samlIdPCertName other_idp -samlRedirectUrl "`+sso+`" -samlUserField email -samlBinding redirect`)
		c, resp := s.browse(t, s.ProxyURL()+"/x")
		if at := resp.Request.URL.String(); !strings.HasPrefix(at, sso+"?SAMLRequest=") {
			t.Fatalf("the browser logs in at %s, want -samlRedirectUrl %s", at, sso)
		}
		code, b := finishSAMLLogin(t, c, resp)
		if code != want {
			t.Fatalf("the login answered %d, want %d:\n%s", code, want, b)
		}
		if want == http.StatusOK && !strings.Contains(b, `"user":"alice@example.com"`) {
			t.Fatalf("after the login the backend saw %s", b)
		}
	})
}

// withEachIdPCertificate runs check as -samlIdPCertName's certificate is
// certPEM, that of the IdP, whose login it wants to succeed (200), and
// then another IdP's, whose login it wants refused (401).
func withEachIdPCertificate(t *testing.T, certPEM []byte, check func(t *testing.T, cert []byte, want int)) {
	_, wrongPEM := otherSAMLIdP(t)
	t.Run("its certificate", func(t *testing.T) { check(t, certPEM, http.StatusOK) })
	t.Run("another certificate", func(t *testing.T) { check(t, wrongPEM, http.StatusUnauthorized) })
}

// stackAtOtherIdP runs the proxy whose one login is samlAction saml_other,
// written as action, whose -samlIdPCertName other_idp is cert; nothing
// warns about it.
func stackAtOtherIdP(t *testing.T, cert []byte, action string) *Stack {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{"certs/idp.pem": string(cert)})
	s := startSAMLStack(t, dir, "okta", "add ssl certKey other_idp -cert certs/idp.pem\n"+action+"\nadd authentication Policy saml_pol -rule true -action saml_other\n")
	if w := strings.Join(s.Warnings(), "\n"); strings.Contains(w, "saml_other") {
		t.Errorf("warnings about the samlAction:\n%s", w)
	}
	return s
}

// -samlBinding POST, the ADC's default, sends the AuthnRequest by an
// auto-submitting HTTP-POST form (a button without JavaScript):
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
func TestASAMLActionSendsItsAuthnRequestByHTTPPostByDefault(t *testing.T) {
	s := startSAMLStack(t, t.TempDir(), "okta", `add authentication samlAction saml_idp -samlUserField email
add authentication Policy saml_pol -rule true -action saml_idp
`)
	c, resp := s.browse(t, s.ProxyURL()+"/x")
	if at := resp.Request.URL.String(); at != s.ProxyURL()+"/x" || resp.StatusCode != http.StatusOK {
		t.Fatalf("the browser went to %s (%d), want the proxy's own HTTP-POST form", at, resp.StatusCode)
	}
	idpForm := postSAMLForm(t, c, resp)
	if at := idpForm.Request; at.Method != http.MethodPost || !strings.HasPrefix(at.URL.String(), s.IdP().SAMLEndpoints("dev").SSO+"?login_hint=alice") {
		t.Fatalf("the proxy's form went %s %s, want a POST to the IdP's SSO service", at.Method, at.URL)
	}
	if code, b := finishSAMLLogin(t, c, idpForm); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
		t.Fatalf("the login by HTTP-POST answered %d:\n%s", code, b)
	}
}

// -samlBinding ARTIFACT is not emulated: the warning says so and what the
// proxy does instead.
// -samlBinding ARTIFACT: the proxy asks authdev's IdP for an artifact and
// resolves it over SOAP at the IdP's ArtifactResolutionService
// (-samlBinding "Possible values: REDIRECT, POST, ARTIFACT"):
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
func TestASAMLActionWithTheArtifactBindingLogsInByArtifact(t *testing.T) {
	s := startSAMLStack(t, t.TempDir(), "okta", `add authentication samlAction saml_idp -samlUserField email -samlBinding ARTIFACT
add authentication Policy saml_pol -rule true -action saml_idp
`)
	if w := strings.Join(s.Warnings(), "\n"); strings.Contains(w, "saml_idp") {
		t.Errorf("warnings about the samlAction:\n%s", w)
	}
	hops, code, b := artifactLogin(t, s, "/x")
	if code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
		t.Fatalf("the artifact login answered %d:\n%s", code, b)
	}
	if !byArtifact(hops) {
		t.Errorf("the IdP did not answer with a SAMLart at the proxy's ACS; the browser went through:\n%s", strings.Join(hops, "\n"))
	}
}

// artifactLogin is a browser's visit to path, where the IdP answers by
// redirect (an artifact): the URLs it went through, and the last answer's
// status and body.
func artifactLogin(t *testing.T, s *Stack, path string) (hops []string, code int, body string) {
	t.Helper()
	c := s.client(t)
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		hops = append(hops, req.URL.String())
		return nil
	}
	resp, err := c.Get(s.ProxyURL() + path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return hops, resp.StatusCode, string(b)
}

// byArtifact reports whether hops reach the proxy's ACS with a SAMLart.
func byArtifact(hops []string) bool {
	for _, h := range hops {
		if u, err := url.Parse(h); err == nil && u.Path == devproxy.SAMLACSPath && u.Query().Get("SAMLart") != "" {
			return true
		}
	}
	return false
}

// An artifact needs the IdP's ArtifactResolutionService, from its metadata
// or -artifactResolutionServiceURL: with -samlRedirectUrl and
// -samlIdPCertName alone it is named.
func TestTheArtifactBindingWithoutIdPMetadataIsAWarning(t *testing.T) {
	dir := t.TempDir()
	writeSigningCertKey(t, dir)
	opts := devproxy.Options{Environments: []devproxy.Environment{{Name: "dev", SAML: &devproxy.SAMLLogin{Metadata: "md.xml"}}}}
	authn := adc.AuthnBackends{SAML: []adc.SAMLAction{{Name: "a", Binding: "ARTIFACT", RedirectURL: "https://idp.example.com/sso", IdPCertName: "idp_cert"}},
		CertKeys: []adc.CertKey{{Name: "idp_cert", Cert: filepath.Join(dir, "sp.crt")}}}
	warns := SAMLActions(&opts, testkit.DemoConfig(t), authn, nil)
	if w := strings.Join(warns, "\n"); !strings.Contains(w, "-samlBinding ARTIFACT with an IdP given by -samlRedirectUrl") || !strings.Contains(w, "add the IdP's -artifactResolutionServiceURL") {
		t.Errorf("warnings %q", warns)
	}
}

// writeSigningCertKey writes a self-signed certificate and its RSA key, as
// an ADC administrator's `add ssl certKey -cert -key` files.
func writeSigningCertKey(t *testing.T, dir string) *x509.Certificate {
	key, cert := testkit.RSACertificate(t, "app.example.com")
	testkit.WriteFiles(t, dir, map[string]string{
		"sp.crt": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
		"sp.key": string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
	})
	return cert
}

// -samlSigningCertName signs the AuthnRequests with its certKey's key, by
// -signatureAlg and -digestMethod: in the XML of the HTTP-POST binding, in
// the query of the HTTP-Redirect binding:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
func TestASAMLActionSignsItsAuthnRequests(t *testing.T) {
	for _, tc := range []struct{ binding, alg, digest, sigURI, digestURI string }{
		{"POST", "RSA-SHA1", "SHA1", dsig.RSASHA1SignatureMethod, "http://www.w3.org/2000/09/xmldsig#sha1"},
		{"POST", "RSA-SHA256", "SHA256", dsig.RSASHA256SignatureMethod, "http://www.w3.org/2001/04/xmlenc#sha256"},
		// The ADC's two other pairs: the digest is not the signature's hash.
		{"POST", "RSA-SHA256", "SHA1", dsig.RSASHA256SignatureMethod, "http://www.w3.org/2000/09/xmldsig#sha1"},
		{"POST", "RSA-SHA1", "SHA256", dsig.RSASHA1SignatureMethod, "http://www.w3.org/2001/04/xmlenc#sha256"},
		{"REDIRECT", "RSA-SHA256", "SHA256", dsig.RSASHA256SignatureMethod, ""},
	} {
		t.Run(tc.binding+" "+tc.alg+" "+tc.digest, func(t *testing.T) {
			dir := t.TempDir()
			cert := writeSigningCertKey(t, dir)
			s := startSAMLStack(t, dir, "okta", `add ssl certKey sp_cert -cert sp.crt -key sp.key
add authentication samlAction saml_idp -samlUserField email -samlSigningCertName sp_cert -samlBinding `+tc.binding+` -signatureAlg `+tc.alg+` -digestMethod `+tc.digest+`
add authentication Policy saml_pol -rule true -action saml_idp
`)
			if w := strings.Join(s.Warnings(), "\n"); strings.Contains(w, "saml_idp") {
				t.Errorf("warnings about the samlAction:\n%s", w)
			}
			c, resp := s.browse(t, s.ProxyURL()+"/x")
			if tc.binding == "REDIRECT" {
				if q := resp.Request.URL.Query(); q.Get("SigAlg") != tc.sigURI || q.Get("Signature") == "" {
					t.Fatalf("the HTTP-Redirect AuthnRequest at %s is not signed with %s", resp.Request.URL, tc.sigURI)
				}
			} else {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				verifySignedAuthnRequest(t, b, cert, tc.sigURI, tc.digestURI)
				resp.Body = io.NopCloser(bytes.NewReader(b))
				resp = postSAMLForm(t, c, resp)
			}
			if code, b := finishSAMLLogin(t, c, resp); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
				t.Fatalf("the login with a signed AuthnRequest answered %d:\n%s", code, b)
			}
		})
	}
}

// verifySignedAuthnRequest checks the XML signature of the AuthnRequest in
// the proxy's HTTP-POST form page: by cert, with the algorithms wanted.
func verifySignedAuthnRequest(t *testing.T, page []byte, cert *x509.Certificate, sigURI, digestURI string) {
	t.Helper()
	var req string
	for _, f := range samlFieldRE.FindAllSubmatch(page, -1) {
		if string(f[1]) == "SAMLRequest" {
			req = html.UnescapeString(string(f[2]))
		}
	}
	raw, err := base64.StdEncoding.DecodeString(req)
	if err != nil {
		t.Fatalf("no SAMLRequest in the proxy's form: %v\n%s", err, page)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	if _, err := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}}).Validate(doc.Root()); err != nil {
		t.Fatalf("the AuthnRequest's signature does not verify with -samlSigningCertName's certificate: %v\n%s", err, raw)
	}
	// xmlsec1, an independent XML-DSig implementation, verifies it too.
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	if out, err := testkit.XMLSec1Verify(t, raw, certPEM); err != nil {
		t.Fatalf("xmlsec1 refused the AuthnRequest's signature: %v\n%s\n%s", err, out, raw)
	}
	tampered := bytes.Replace(raw, []byte(`ID="`), []byte(`ForceAuthn="true" ID="`), 1)
	if out, err := testkit.XMLSec1Verify(t, tampered, certPEM); err == nil {
		t.Fatalf("xmlsec1 accepted a tampered AuthnRequest:\n%s", out)
	}
	sm, dm := doc.FindElement("//SignatureMethod"), doc.FindElement("//DigestMethod")
	if sm == nil || dm == nil || sm.SelectAttrValue("Algorithm", "") != sigURI || dm.SelectAttrValue("Algorithm", "") != digestURI {
		t.Fatalf("the AuthnRequest is signed with %v / %v, want %s / %s", sm, dm, sigURI, digestURI)
	}
}

// -logoutURL is the IdP's single logout service: /cgi/tmlogout ends the
// proxy session, then sends the IdP a LogoutRequest, which ends the IdP's:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
func TestASAMLActionLogsOutAtTheIdPOfItsLogoutURL(t *testing.T) {
	other, idpPEM := otherSAMLIdP(t)
	ep := other.IdP().SAMLEndpoints("dev")
	dir := t.TempDir()
	cert := writeSigningCertKey(t, dir)
	// crewjam/saml's IdP takes only signed LogoutRequests.
	other.IdP().AcceptSAMLProxyAs(config.ProxySAMLEntityID, cert)
	testkit.WriteFiles(t, dir, map[string]string{"idp.pem": string(idpPEM)})
	s := startSAMLStack(t, dir, "okta", `add ssl certKey sp_cert -cert sp.crt -key sp.key
add ssl certKey idp_cert -cert idp.pem
add authentication samlAction saml_idp -samlUserField email -samlSigningCertName sp_cert -samlIdPCertName idp_cert -samlRedirectUrl "`+ep.SSO+`" -samlBinding REDIRECT -logoutURL "`+ep.SLO+`"
add authentication Policy saml_pol -rule true -action saml_idp
`)
	c, resp := s.browse(t, s.ProxyURL()+"/x")
	if out := postSAMLForm(t, c, resp); out.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", out.StatusCode)
	}
	// The IdP answers the proxy's ACS origin; this IdP's config does not
	// know the proxy's port, so the browser stops at its answer.
	var hops []string
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		hops = append(hops, req.URL.String())
		if strings.Contains(req.URL.RawQuery, "SAMLResponse=") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	out, err := c.Get(s.ProxyURL() + "/cgi/tmlogout")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if len(hops) == 0 || !strings.HasPrefix(hops[0], ep.SLO+"?SAMLRequest=") {
		t.Fatalf("after /cgi/tmlogout the browser went to %v, want -logoutURL %s with a LogoutRequest", hops, ep.SLO)
	}
	loc, _ := out.Location()
	if out.StatusCode != http.StatusFound || loc == nil || !strings.HasSuffix(loc.Path, "/cgi/tmlogout") {
		t.Fatalf("the IdP answered the LogoutRequest %d (Location %v), want its LogoutResponse to the proxy's /cgi/tmlogout:\n%s", out.StatusCode, loc, b)
	}
	raw, _ := base64.StdEncoding.DecodeString(loc.Query().Get("SAMLResponse"))
	x, _ := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	var lr saml.LogoutResponse
	if err := xml.Unmarshal(x, &lr); err != nil || lr.Status.StatusCode.Value != saml.StatusSuccess {
		t.Fatalf("LogoutResponse %s: %v", x, err)
	}
	c.CheckRedirect = nil
	if resp, err := c.Get(s.ProxyURL() + "/x"); err != nil || resp.Request.URL.Host == strings.TrimPrefix(s.ProxyURL(), "http://") {
		t.Fatalf("after the logout the proxy session still answers: %v %v", resp.Request.URL, err)
	}
}

// -relaystateRule is evaluated on the RelayState of each response (as on
// the ADC, where the login returns to): a login whose RelayState fails it
// is refused:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
func TestASAMLActionRefusesALoginWhoseRelayStateFailsItsRule(t *testing.T) {
	s := startSAMLStack(t, t.TempDir(), "okta", `add authentication samlAction saml_idp -samlUserField email -samlBinding REDIRECT -relaystateRule "AAA.LOGIN.RELAYSTATE.CONTAINS(\"/app/\") && HTTP.REQ.URL.EQ(\"/cgi/samlauth\")"
add authentication Policy saml_pol -rule true -action saml_idp
`)
	if w := strings.Join(s.Warnings(), "\n"); strings.Contains(w, "relaystateRule") {
		t.Errorf("warnings about the rule:\n%s", w)
	}
	login := func(t *testing.T, start string) (int, string) {
		c, resp := s.browse(t, start)
		return finishSAMLLogin(t, c, resp)
	}
	if code, b := login(t, s.ProxyURL()+"/app/x"); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
		t.Fatalf("a login returning to /app/x answered %d:\n%s", code, b)
	}
	if code, b := login(t, s.ProxyURL()+"/other"); code != http.StatusUnauthorized || !strings.Contains(b, "-relaystateRule") {
		t.Fatalf("a login returning to /other answered %d, want 401 by -relaystateRule:\n%s", code, b)
	}
	// An IdP-initiated login sent elsewhere, posted to this proxy (the IdP
	// of this test knows the proxy at proxy.listen's default port).
	evil := s.IdP().SAMLEndpoints("dev").IDPInitiated + "?sp=" + url.QueryEscape(config.ProxySAMLEntityID) + "&login_hint=alice&RelayState=" + url.QueryEscape("https://evil.example.com/")
	resp, err := http.Get(evil)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{}
	for _, f := range samlFieldRE.FindAllSubmatch(page, -1) {
		form.Set(string(f[1]), html.UnescapeString(string(f[2])))
	}
	out, err := http.PostForm(s.ProxyURL()+"/cgi/samlauth", form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if code := out.StatusCode; code != http.StatusUnauthorized || !strings.Contains(html.UnescapeString(string(b)), "https://evil.example.com/\" fails the samlAction's -relaystateRule") {
		t.Fatalf("an IdP-initiated login with RelayState https://evil.example.com/ answered %d:\n%s", code, b)
	}
}

// -samlSigningCertName naming no certKey is a warning and the
// AuthnRequests go unsigned; any of the ADC's -signatureAlg and
// -digestMethod pairs is followed, RSA-SHA256 with a SHA1 digest too, and
// nothing is said of the digest with -samlBinding REDIRECT, whose query
// string signature has none:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
func TestSAMLSigningFollowsTheSAMLActionsAlgorithms(t *testing.T) {
	dir := t.TempDir()
	writeSigningCertKey(t, dir)
	ck := adc.CertKey{Name: "sp_cert", Cert: filepath.Join(dir, "sp.crt"), Key: filepath.Join(dir, "sp.key")}
	for _, tc := range []struct {
		action adc.SAMLAction
		signed bool
		method string
		digest crypto.Hash
		warn   string
	}{
		{adc.SAMLAction{SigningCertName: "nope", SignatureAlg: "RSA-SHA256", DigestMethod: "SHA256"}, false, "", 0, "no `add ssl certKey nope"},
		{adc.SAMLAction{SigningCertName: "sp_cert", Binding: "POST", SignatureAlg: "RSA-SHA256", DigestMethod: "SHA1"}, true, dsig.RSASHA256SignatureMethod, crypto.SHA1, ""},
		{adc.SAMLAction{SigningCertName: "sp_cert", Binding: "POST", SignatureAlg: "RSA-SHA1", DigestMethod: "SHA256"}, true, dsig.RSASHA1SignatureMethod, crypto.SHA256, ""},
		{adc.SAMLAction{SigningCertName: "sp_cert", Binding: "REDIRECT", SignatureAlg: "RSA-SHA256", DigestMethod: "SHA1"}, true, dsig.RSASHA256SignatureMethod, crypto.SHA1, ""},
	} {
		opts := devproxy.Options{Environments: []devproxy.Environment{{Name: "dev", SAML: &devproxy.SAMLLogin{Metadata: "md.xml"}}}}
		tc.action.Name = "a"
		warns := strings.Join(SAMLActions(&opts, testkit.DemoConfig(t), adc.AuthnBackends{SAML: []adc.SAMLAction{tc.action}, CertKeys: []adc.CertKey{ck}}, nil), "\n")
		l := opts.Environments[0].SAML
		if tc.warn == "" && strings.Contains(warns, "igest") || !strings.Contains(warns, tc.warn) {
			t.Errorf("%+v: warnings %q, want %q", tc.action, warns, tc.warn)
		}
		if signed := l.SigningKey != nil; signed != tc.signed || tc.signed && (l.SignatureMethod != tc.method || l.DigestHash != tc.digest) {
			t.Errorf("%+v: signed %v with %s, digest %v; want signed %v with %s, digest %v", tc.action, signed, l.SignatureMethod, l.DigestHash, tc.signed, tc.method, tc.digest)
		}
	}
}

// Several samlActions, each behind an authentication policy bound to the
// authentication vserver of the lb vserver (-Authentication ON
// -authnVsName): each login uses the samlAction of the first policy, by
// priority, whose rule is true for it: its binding, entity id and logout
// URL. The shape is that of flipper's samlAuth.ns.conf (Apache-2.0,
// adc/testdata/corpus/SOURCES.md), with hosts a laptop has; the ADC's rule:
// https://docs.netscaler.com/en-us/citrix-adc/13/aaa-tm/authentication-methods/multi-factor-nfactor-authentication/nfactor-terminology.html
func TestEachLoginUsesTheSAMLActionItsPoliciesPick(t *testing.T) {
	s := startSAMLStack(t, t.TempDir(), "okta", `add authentication samlAction saml_local -samlUserField email -samlIssuerName "https://local.example.com" -samlBinding REDIRECT -logoutURL "http://127.0.0.1:9/slo-local"
add authentication samlAction saml_ip -samlUserField email -samlIssuerName "https://ip.example.com" -samlBinding POST -logoutURL "http://127.0.0.1:9/slo-ip"
`+samlByHost)
	if w := strings.Join(s.Warnings(), "\n"); strings.Contains(w, "samlAction") {
		t.Errorf("warnings about the samlActions:\n%s", w)
	}
	ip := s.ProxyURL()
	local := strings.Replace(ip, "127.0.0.1", "localhost", 1)
	for _, tc := range []struct{ origin, issuer, slo string }{
		{local, "https://local.example.com", "http://127.0.0.1:9/slo-local"},
		{ip, "https://ip.example.com", "http://127.0.0.1:9/slo-ip"},
	} {
		c, resp := s.browse(t, tc.origin+"/x")
		if tc.origin == local {
			if iss := authnRequestIssuer(t, resp.Request.URL); iss != tc.issuer {
				t.Fatalf("at %s the HTTP-Redirect AuthnRequest's Issuer is %q, want %q", tc.origin, iss, tc.issuer)
			}
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if at := resp.Request.URL.String(); at != tc.origin+"/x" || !strings.Contains(string(b), `name="SAMLRequest"`) {
				t.Fatalf("at %s the browser went to %s, want saml_ip's HTTP-POST form:\n%s", tc.origin, at, b)
			}
			if iss := postedAuthnRequestIssuer(t, b); iss != tc.issuer {
				t.Fatalf("at %s the HTTP-POST AuthnRequest's Issuer is %q, want %q", tc.origin, iss, tc.issuer)
			}
			resp.Body = io.NopCloser(bytes.NewReader(b))
			resp = postSAMLForm(t, c, resp)
		}
		if code, b := finishSAMLLogin(t, c, resp); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
			t.Fatalf("the login at %s answered %d:\n%s", tc.origin, code, b)
		}
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		out, err := c.Get(tc.origin + "/cgi/tmlogout")
		if err != nil {
			t.Fatal(err)
		}
		out.Body.Close()
		if loc := out.Header.Get("Location"); !strings.HasPrefix(loc, tc.slo+"?SAMLRequest=") {
			t.Errorf("the logout of the login at %s goes to %q, want its samlAction's -logoutURL %s", tc.origin, loc, tc.slo)
		}
	}
}

// samlByHost picks samlAction saml_local for a login at localhost and
// saml_ip for any other; its binds are written out of priority order,
// which decides.
const samlByHost = `add authentication Policy pol_local -rule "HTTP.REQ.HOSTNAME.SERVER.EQ(\"localhost\")" -action saml_local
add authentication Policy pol_any -rule true -action saml_ip
add authentication vserver auth_vs SSL 0.0.0.0 0
bind authentication vserver auth_vs -policy pol_any -priority 1000 -gotoPriorityExpression END
bind authentication vserver auth_vs -policy pol_local -priority 100 -gotoPriorityExpression END
add lb vserver lb_app HTTP 0.0.0.0 0 -Authentication ON -authnVsName auth_vs
`

// postedAuthnRequestIssuer reads the Issuer of the AuthnRequest in the
// proxy's HTTP-POST form page.
func postedAuthnRequestIssuer(t *testing.T, page []byte) string {
	t.Helper()
	for _, f := range samlFieldRE.FindAllSubmatch(page, -1) {
		if string(f[1]) != "SAMLRequest" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(string(f[2])))
		if err != nil {
			t.Fatal(err)
		}
		return issuerOf(t, raw)
	}
	t.Fatalf("no SAMLRequest in the form:\n%s", page)
	return ""
}

// A login started at /.authdev/login (as `authdev test` and the TUI start
// one) stands for the request of the path it returns to: the samlAction
// rules on HTTP.REQ.URL read that path.
func TestALoginAtTheProxysLoginURLUsesTheSAMLActionOfItsReturnPath(t *testing.T) {
	s := startSAMLStack(t, t.TempDir(), "okta", `add authentication samlAction saml_api -samlIssuerName "https://api.example.com" -samlBinding REDIRECT
add authentication samlAction saml_web -samlIssuerName "https://web.example.com" -samlBinding REDIRECT
add authentication Policy pol_api -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/api/\")" -action saml_api
add authentication Policy pol_web -rule true -action saml_web
add authentication vserver auth_vs SSL 0.0.0.0 0
bind authentication vserver auth_vs -policy pol_api -priority 10 -gotoPriorityExpression END
bind authentication vserver auth_vs -policy pol_web -priority 20 -gotoPriorityExpression END
add lb vserver lb_app HTTP 0.0.0.0 0 -Authentication ON -authnVsName auth_vs
`)
	for _, tc := range []struct{ start, issuer string }{
		{"/.authdev/login?return=%2Fapi%2Fx", "https://api.example.com"},
		{"/.authdev/login?via=saml&return=%2Fapi%2Fx", "https://api.example.com"},
		{"/.authdev/login?return=%2Fweb", "https://web.example.com"},
	} {
		_, resp := s.browse(t, s.ProxyURL()+tc.start)
		if iss := authnRequestIssuer(t, resp.Request.URL); iss != tc.issuer {
			t.Errorf("a login at %s sends an AuthnRequest of %q, want %q", tc.start, iss, tc.issuer)
		}
	}
}

// A login for which a factor of the flow has no true policy is refused, as
// the appliance refuses it, with the policies that were false: it is not
// quietly logged in some other way.
func TestALoginNoPolicyMatchesIsRefused(t *testing.T) {
	s := startSAMLStack(t, t.TempDir(), "okta", `add authentication samlAction saml_api -samlBinding REDIRECT
add authentication Policy pol_api -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/api/\")" -action saml_api
add authentication vserver auth_vs SSL 0.0.0.0 0
bind authentication vserver auth_vs -policy pol_api -priority 10 -gotoPriorityExpression END
add lb vserver lb_app HTTP 0.0.0.0 0 -Authentication ON -authnVsName auth_vs
`)
	_, resp := s.browse(t, s.ProxyURL()+"/web")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := html.UnescapeString(string(b))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, `policy pol_api (priority 10, rule HTTP.REQ.URL.PATH.STARTSWITH("/api/")) is false`) || !strings.Contains(page, "no policy is true") {
		t.Fatalf("a login no policy matches answered %d at %s:\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	if _, resp := s.browse(t, s.ProxyURL()+"/api/x"); !strings.Contains(resp.Request.URL.RawQuery, "SAMLRequest=") {
		t.Fatalf("a login pol_api matches went to %s", resp.Request.URL)
	}
}

// A samlAction that the flow reaches only after an LDAP factor (LDAP is
// not emulated) is named in `authdev up`'s warnings with both file:lines,
// and a login that reaches it logs in with it at once.
func TestASAMLActionAfterAnLDAPFactorIsNamedAndUsed(t *testing.T) {
	s := startSAMLStack(t, t.TempDir(), "okta", `add authentication ldapAction ldap_corp -serverIP 10.0.0.5 -ldapBase "dc=example,dc=com"
add authentication samlAction saml_second -samlIssuerName "https://second.example.com" -samlBinding REDIRECT
add authentication Policy pol_ldap -rule true -action ldap_corp
add authentication Policy pol_saml -rule true -action saml_second
add authentication loginSchema ls_none -authenticationSchema noschema
add authentication policylabel second_factor -loginSchema ls_none
bind authentication policylabel second_factor -policyName pol_saml -priority 10 -gotoPriorityExpression END
add authentication vserver auth_vs SSL 0.0.0.0 0
bind authentication vserver auth_vs -policy pol_ldap -priority 10 -nextFactor second_factor -gotoPriorityExpression NEXT
add lb vserver lb_app HTTP 0.0.0.0 0 -Authentication ON -authnVsName auth_vs
`)
	w := strings.Join(s.Warnings(), "\n")
	if !strings.Contains(w, `ns.conf:4: samlAction "saml_second" (ns.conf:2) is reached, through policylabel second_factor, only after ldapAction "ldap_corp" (ns.conf:1), policy pol_ldap (ns.conf:3)`) {
		t.Errorf("the warnings do not name the samlAction after LDAP:\n%s", w)
	}
	if _, resp := s.browse(t, s.ProxyURL()+"/x"); authnRequestIssuer(t, resp.Request.URL) != "https://second.example.com" {
		t.Errorf("the login went to %s, want saml_second's AuthnRequest", resp.Request.URL)
	}
}

// Each samlAction has its own -samlUserField and -Attribute1..16, as the
// command reference gives them:
// https://docs.citrix.com/ko-kr/netscaler/11-1/reference/netscaler-command-reference/authentication/authentication-samlaction.html
// so after a login AAA.USER.NAME and AAA.USER.ATTRIBUTE(n) are those of
// the samlAction that logged the user in, not the first one's; no warning
// says otherwise.
func TestEachSAMLActionNamesItsUserAndNumbersItsAttributes(t *testing.T) {
	s := startSAMLStackOf(t, t.TempDir(), "alice: {email: alice@example.com, name: Alice Admin, claims: {department: platform, costcenter: cc-42}}", "okta",
		`add authentication samlAction saml_local -samlUserField name -Attribute1 department -samlIssuerName "https://local.example.com" -samlBinding REDIRECT
add authentication samlAction saml_ip -samlUserField email -Attribute1 costcenter -samlIssuerName "https://ip.example.com" -samlBinding REDIRECT
`+samlByHost+`add responder action who respondwith "AAA.USER.NAME + \"|\" + AAA.USER.ATTRIBUTE(1)"
add responder policy p_who "HTTP.REQ.URL.PATH.EQ(\"/who\")" who
bind responder global p_who 10 END
`)
	if w := strings.Join(s.Warnings(), "\n"); strings.Contains(w, "samlUserField") || strings.Contains(w, "-attribute1..16") {
		t.Errorf("warnings about the samlActions' user fields or attributes:\n%s", w)
	}
	answersByHost(t, s, "/who", "AAA.USER.NAME|AAA.USER.ATTRIBUTE(1)", "Alice Admin|platform", "alice@example.com|cc-42")
}

// answersByHost logs in at path on localhost (saml_local of samlByHost)
// and on 127.0.0.1 (saml_ip) and checks the proxy's answer after each:
// atLocal and atIP; what says what the answer tells.
func answersByHost(t *testing.T, s *Stack, path, what, atLocal, atIP string) {
	t.Helper()
	ip := s.ProxyURL()
	local := strings.Replace(ip, "127.0.0.1", "localhost", 1)
	for _, tc := range []struct{ origin, want string }{{local, atLocal}, {ip, atIP}} {
		c, resp := s.browse(t, tc.origin+path)
		if code, b := finishSAMLLogin(t, c, resp); code != http.StatusOK || b != tc.want {
			t.Errorf("after the login at %s %s is (%d) %q, want %q", tc.origin, what, code, b, tc.want)
		}
	}
}

// Two lb vservers behind a cs vserver, each naming its own authentication
// vserver (-authnVsName, or an authnProfile's) with its own samlAction: a
// login goes to the authentication vserver of the lb vserver the cs
// policies send its request to, whose policies pick the samlAction, as
// the traffic management vserver sends logins to its authentication
// vserver:
// https://docs.netscaler.com/en-us/citrix-adc/13-1/aaa-tm/entities-of-authentication-authorization-auditing/authentication-virtual-server
// Nothing warns that the proxy follows one authentication vserver.
func TestEachLBVServerBehindACSVServerLogsInThroughItsAuthenticationVServer(t *testing.T) {
	s := startSAMLStack(t, t.TempDir(), "okta", apiAndWebAuthnVServers+`add authentication authnProfile prof_web -authnVsName aaa_web
add lb vserver lb_api HTTP 0.0.0.0 0 -Authentication ON -authnVsName aaa_api
add lb vserver lb_web HTTP 0.0.0.0 0 -Authentication ON -authnProfile prof_web
add cs vserver cs_front HTTP 127.0.0.1 8443
add cs policy cs_pol_api -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/api/\")"
bind cs vserver cs_front -policyName cs_pol_api -targetLBVserver lb_api -priority 10
bind cs vserver cs_front -lbvserver lb_web
`)
	if w := strings.Join(s.Warnings(), "\n"); strings.Contains(w, "authentication vserver") || strings.Contains(w, "samlAction") {
		t.Errorf("warnings about the authentication vservers:\n%s", w)
	}
	loginsGoToAPIAndWeb(t, s)
}

// Without a cs vserver, the lb vserver a login reaches is the upstream
// its path routes to (authdev.yaml's upstream of the vserver's name, with
// its prefix), and that vserver's authentication vserver picks the
// samlAction:
// https://docs.netscaler.com/en-us/citrix-adc/13-1/aaa-tm/entities-of-authentication-authorization-auditing/authentication-virtual-server
func TestEachLBVServerUpstreamLogsInThroughItsAuthenticationVServer(t *testing.T) {
	dir := t.TempDir()
	who := whoBackend(t)
	testkit.WriteFiles(t, dir, map[string]string{
		"ns.conf": apiAndWebAuthnVServers + `add lb vserver lb_api HTTP 0.0.0.0 0 -Authentication ON -authnVsName aaa_api
add lb vserver lb_web HTTP 0.0.0.0 0 -Authentication ON -authnVsName aaa_web
set tm sessionParameter -defaultAuthorizationAction ALLOW
`,
		"authdev.yaml": `personas:
  alice: {email: alice@example.com}
environments:
  dev: {flavor: okta}
proxy:
  tls: false
  adc_config: ns.conf
  upstreams:
    - {name: lb_api, prefix: /api/, targets: ["` + who + `"]}
    - {name: lb_web, prefix: /, targets: ["` + who + `"]}
`})
	cfg, err := testkit.LoadFile(filepath.Join(dir, "authdev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := startUp(t, Options{Config: cfg, Persona: "alice"})
	loginsGoToAPIAndWeb(t, s)
}

// apiAndWebAuthnVServers are two authentication vservers, aaa_api and
// aaa_web, each with its samlAction (saml_api, saml_web, told apart by
// -samlIssuerName).
const apiAndWebAuthnVServers = `add authentication samlAction saml_api -samlIssuerName "https://api.example.com" -samlBinding REDIRECT
add authentication samlAction saml_web -samlIssuerName "https://web.example.com" -samlBinding REDIRECT
add authentication Policy pol_api -rule true -action saml_api
add authentication Policy pol_web -rule true -action saml_web
add authentication vserver aaa_api SSL 0.0.0.0 0
bind authentication vserver aaa_api -policy pol_api -priority 100 -gotoPriorityExpression END
add authentication vserver aaa_web SSL 0.0.0.0 0
bind authentication vserver aaa_web -policy pol_web -priority 100 -gotoPriorityExpression END
`

// loginsGoToAPIAndWeb checks that a login at /api/x logs in with saml_api
// and one at /web with saml_web (apiAndWebAuthnVServers), to the end.
func loginsGoToAPIAndWeb(t *testing.T, s *Stack) {
	t.Helper()
	for _, tc := range []struct{ path, issuer string }{
		{"/api/x", "https://api.example.com"},
		{"/web", "https://web.example.com"},
	} {
		c, resp := s.browse(t, s.ProxyURL()+tc.path)
		if iss := authnRequestIssuer(t, resp.Request.URL); iss != tc.issuer {
			t.Fatalf("a login at %s sends an AuthnRequest of %q, want %q", tc.path, iss, tc.issuer)
		}
		if code, b := finishSAMLLogin(t, c, resp); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
			t.Fatalf("the login at %s answered %d:\n%s", tc.path, code, b)
		}
	}
}
