package mockidp_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/authdev/authdev/internal/testkit"
	"github.com/authdev/authdev/mockidp"
)

// samlYAML registers service providers of every kind with a flavor per
// environment.
const samlYAML = `
idp:
  saml:
    service_providers:
      - entity_id: https://app.example.com/saml
        acs_urls: [https://app.example.com/saml/acs, https://app.example.com/saml/acs2]
      - entity_id: https://persistent.example.com
        acs_url: https://persistent.example.com/acs
        nameid_format: persistent
        sign_response: false
        attributes: {groups: memberOf, department: ""}
      - entity_id: https://transient.example.com
        acs_url: https://transient.example.com/acs
        nameid_format: transient
        sign_assertion: false
personas:
  alice:
    name: Alice Admin
    email: alice@example.com
    groups: [eng-admins, eng]
    claims: {department: platform, tags: [a, b]}
    envs:
      prod: {groups: [sg-prod-admins]}
  bob: {name: Bob Builder, email: bob@example.com, groups: [eng]}
environments:
  dev:
    flavor: okta
    roles: {eng-admins: [admin], eng: [reader]}
  prod:
    flavor: entra
    roles: {sg-prod-admins: [admin, auditor]}
  a0: {flavor: auth0}
  fs: {flavor: adfs, roles: {eng-admins: [admin]}}
`

// spKey is a test SP's RSA key and self-signed certificate.
func spKey(t testing.TB) (*rsa.PrivateKey, *x509.Certificate) {
	return testkit.RSACertificate(t, "test sp")
}

// writeCert writes cert as PEM into a temporary file.
func writeCert(t testing.TB, cert *x509.Certificate) string {
	p := filepath.Join(t.TempDir(), "sp.crt")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testSP is crewjam/saml's service provider trusting srv's env from its
// published metadata.
func testSP(t testing.TB, srv *mockidp.Server, env, entityID, acs string) *saml.ServiceProvider {
	t.Helper()
	md, err := samlsp.FetchMetadata(context.Background(), http.DefaultClient, *mustURL(t, srv.SAMLEndpoints(env).Metadata))
	if err != nil {
		t.Fatalf("fetch IdP metadata: %v", err)
	}
	key, cert := spKey(t)
	return &saml.ServiceProvider{EntityID: entityID, AcsURL: *mustURL(t, acs), IDPMetadata: md, Key: key, Certificate: cert}
}

func mustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// samlForm is the HTTP-POST binding's form as the IdP rendered it.
type samlForm struct {
	Action, SAMLResponse, RelayState string
}

var (
	formActionRE = regexp.MustCompile(`<form method="post" action="([^"]*)" id="saml">`)
	hiddenRE     = regexp.MustCompile(`<input type="hidden" name="(SAMLResponse|RelayState)" value="([^"]*)">`)
)

// parseSAMLForm reads the auto-submitting form, failing when the page is
// something else.
func parseSAMLForm(t testing.TB, p page) samlForm {
	t.Helper()
	m := formActionRE.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("want the HTTP-POST form, got status %d:\n%s", p.status, p.body)
	}
	f := samlForm{Action: html.UnescapeString(m[1])}
	for _, h := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
		v := html.UnescapeString(h[2])
		if h[1] == "SAMLResponse" {
			f.SAMLResponse = v
		} else {
			f.RelayState = v
		}
	}
	return f
}

// responseXML decodes the form's SAMLResponse.
func (f samlForm) responseXML(t testing.TB) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(f.SAMLResponse)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// consume hands the form to sp's assertion consumer service as a browser
// would post it.
func (f samlForm) consume(t testing.TB, sp *saml.ServiceProvider, requestIDs ...string) (*saml.Assertion, error) {
	t.Helper()
	form := url.Values{"SAMLResponse": {f.SAMLResponse}}
	r, _ := http.NewRequest(http.MethodPost, f.Action, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	return sp.ParseResponse(r, requestIDs)
}

// page is an answer of the IdP.
type page struct {
	status int
	body   string
	header http.Header
}

// get fetches u with c.
func get(t testing.TB, c *http.Client, u string) page {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, resp)
}

// redirectLogin starts an SP-initiated HTTP-Redirect login and returns the
// AuthnRequest's ID and the SSO URL with login_hint when hint is set.
func redirectLogin(t testing.TB, sp *saml.ServiceProvider, relayState, hint string) (string, string) {
	t.Helper()
	return redirectLoginFor(t, sp, relayState, hint, saml.HTTPPostBinding)
}

// redirectLoginFor is redirectLogin asking for the response by binding
// (its ProtocolBinding), or for none when binding is "".
func redirectLoginFor(t testing.TB, sp *saml.ServiceProvider, relayState, hint, binding string) (string, string) {
	t.Helper()
	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, binding)
	if err != nil {
		t.Fatal(err)
	}
	req.ProtocolBinding = binding
	u, err := req.Redirect(relayState, sp)
	if err != nil {
		t.Fatal(err)
	}
	if hint != "" {
		u.RawQuery += "&login_hint=" + url.QueryEscape(hint)
	}
	return req.ID, u.String()
}

// attrs flattens an assertion's attributes: name -> values.
func attrs(a *saml.Assertion) map[string][]string {
	out := map[string][]string{}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			for _, v := range at.Values {
				out[at.Name] = append(out[at.Name], v.Value)
			}
		}
	}
	return out
}

// b64 is an AuthnRequest as the HTTP-POST binding carries it.
func b64(t testing.TB, req *saml.AuthnRequest) string {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(req.Element())
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func readAll(t testing.TB, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b), resp.Header}
}

// errDetail is the reason behind crewjam/saml's "Authentication failed".
func errDetail(err error) string {
	var ire *saml.InvalidResponseError
	if errors.As(err, &ire) {
		return ire.PrivateErr.Error()
	}
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// location is where a redirect points, made absolute.
func location(t testing.TB, resp *http.Response) string {
	t.Helper()
	u, err := resp.Location()
	if err != nil {
		t.Fatalf("answer %d has no Location: %v", resp.StatusCode, err)
	}
	return u.String()
}

var signatureRE = regexp.MustCompile(`<ds:Signature[ >]`)

// signatures counts the XML signatures in a document.
func signatures(x string) int { return len(signatureRE.FindAllString(x, -1)) }

func base64Decode(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
}
