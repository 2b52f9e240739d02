package stack

import (
	"net/http"
	"strings"
	"testing"
)

// An ADC in front of ADFS names the user by ADFS's upn claim type
// (-samlUserField), and ADFS's entity id is not its metadata URL: the
// proxy logs in at authdev's adfs-flavored IdP all the same:
// https://learn.microsoft.com/en-us/windows-server/identity/ad-fs/technical-reference/when-to-use-a-send-ldap-attributes-as-claims-rule
func TestASAMLActionLogsInAtAnADFSFlavoredIdPByUPN(t *testing.T) {
	const upn = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
	s := startSAMLStack(t, t.TempDir(), "adfs", `add authentication samlAction saml_idp -samlUserField "`+upn+`" -samlBinding REDIRECT
add authentication Policy saml_pol -rule true -action saml_idp
`)
	c, resp := s.browse(t, s.ProxyURL()+"/x")
	if at := resp.Request.URL.String(); resp.StatusCode != http.StatusOK || !strings.HasPrefix(at, s.IdP().SAMLEndpoints("dev").SSO) {
		t.Fatalf("the browser went to %s (%d), want the IdP's SSO service", at, resp.StatusCode)
	}
	if code, b := finishSAMLLogin(t, c, resp); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
		t.Fatalf("the login at the adfs IdP answered %d:\n%s", code, b)
	}
	var who struct{ Claims map[string]any }
	if code := getJSON(t, c, s.ProxyURL()+"/.authdev/whoami", nil, &who); code != http.StatusOK || who.Claims[upn] != "alice@example.com" || who.Claims["upn"] != "alice@example.com" {
		t.Fatalf("whoami %d: the session's claims have no upn: %v", code, who.Claims)
	}
}
