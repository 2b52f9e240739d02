package stack

import (
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authdev/authdev/internal/testkit"
)

// An ns.conf's samlAction makes the proxy a SAML SP, as on the ADC:
// https://docs.citrix.com/en-us/citrix-adc/current-release/aaa-tm/authentication-methods/saml-authentication/citrix-adc-saml-sp.html
func TestAnNSConfSAMLActionMakesBrowserLoginsSAML(t *testing.T) {
	dir := testkit.WriteFiles(t, t.TempDir(), map[string]string{
		"ns.conf": `add authentication samlAction saml_idp -samlIdPCertName idp_cert -samlRedirectUrl "https://idp.example.com/sso" -samlUserField "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress" -samlIssuerName "https://app.example.com"
add authentication Policy saml_pol -rule true -action saml_idp
`,
		"authdev.yaml": "personas:\n  alice: {email: alice@example.com}\nenvironments:\n  dev: {flavor: entra}\nproxy:\n  tls: false\n  adc_config: ns.conf\n",
	})
	cfg, err := testkit.LoadFile(filepath.Join(dir, "authdev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := startUp(t, Options{Config: cfg})
	warns := strings.Join(s.Warnings(), "\n")
	for _, want := range []string{`samlAction "saml_idp"`, "authdev's SAML IdP", `"urn:authdev:proxy"`} {
		if !strings.Contains(warns, want) {
			t.Errorf("warnings lack %q:\n%s", want, warns)
		}
	}
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(s.ProxyURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Request.URL.String(); resp.StatusCode != http.StatusOK || !strings.Contains(loc, "/dev/saml/sso?SAMLRequest=") {
		t.Fatalf("with a samlAction the browser lands at %s (%d), want the IdP's SAML SSO service", loc, resp.StatusCode)
	}
}
