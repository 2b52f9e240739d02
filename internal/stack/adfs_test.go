package stack

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authdev/authdev/internal/testkit"
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

// A browser logs in with OIDC at the adfs flavor's issuer (/adfs, with
// ADFS's trailing-slash authorize and token endpoints) and reaches the
// backend named by its upn.
func TestABrowserLogsInWithOIDCAtAnADFSFlavoredIssuer(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{"authdev.yaml": "personas:\n  alice: {email: alice@example.com, groups: [admins]}\n" +
		"environments:\n  dev: {flavor: adfs, roles: {admins: [admin]}}\nproxy:\n  tls: false\n"})
	cfg, err := testkit.LoadFile(filepath.Join(dir, "authdev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := startUp(t, Options{Config: cfg, Persona: "alice", Upstream: "api=" + whoBackend(t)})
	c := s.client(t)
	var hops []string
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		hops = append(hops, req.URL.String())
		if len(via) > 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := c.Get(s.ProxyURL() + "/x")
	if err != nil {
		t.Fatalf("%v: %v", err, hops)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"roles":"admin","user":"alice@example.com"`) {
		t.Fatalf("the OIDC login at the adfs issuer answered %d at %s:\n%s\n%q", resp.StatusCode, resp.Request.URL, b, hops)
	}
}
