package devproxy_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/testkit"
)

// sloSetup is samlSetup with -logoutURL at authdev's IdP, LogoutRequests
// signed (the IdP takes no others), and the IdP's metadata trusting, beside
// the IdP's own key, forgeKey's certificate: with it a test signs
// LogoutResponses "from the IdP" that are wrong in one way each.
func sloSetup(t *testing.T, backend string) (setup, *saml.ServiceProvider, *x509.Certificate) {
	key, cert := testkit.RSACertificate(t, "proxy")
	forgeKey, forgeCert := testkit.RSACertificate(t, "forger")
	forger := &saml.ServiceProvider{Key: forgeKey, Certificate: forgeCert, SignatureMethod: dsig.RSASHA256SignatureMethod}
	s := samlSetup(t, "alice", backend)
	s.tweak = func(o *devproxy.Options) {
		l := o.Environments[0].SAML
		md, err := samlsp.FetchMetadata(t.Context(), http.DefaultClient, *mustParse(t, l.Metadata))
		if err != nil {
			t.Fatal(err)
		}
		forger.EntityID = md.EntityID
		idp := &md.IDPSSODescriptors[0]
		idp.KeyDescriptors = append(idp.KeyDescriptors, saml.KeyDescriptor{Use: "signing", KeyInfo: saml.KeyInfo{
			X509Data: saml.X509Data{X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(forgeCert.Raw)}}}}})
		raw, _ := xml.Marshal(md)
		file := filepath.Join(t.TempDir(), "idp.xml")
		if err := os.WriteFile(file, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		l.Metadata, l.LogoutURL = file, strings.Replace(l.Metadata, "/saml/metadata", "/saml/slo", 1)
		l.SigningKey, l.SigningCertificate, l.SignatureMethod = key, cert, dsig.RSASHA256SignatureMethod
	}
	return s, forger, cert
}

// logoutAnswer is forger's LogoutResponse to requestID, sent to dest.
func logoutAnswer(t *testing.T, forger saml.ServiceProvider, dest, requestID string, status saml.Status) string {
	t.Helper()
	forger.IDPMetadata = &saml.EntityDescriptor{IDPSSODescriptors: []saml.IDPSSODescriptor{{SSODescriptor: saml.SSODescriptor{
		SingleLogoutServices: []saml.Endpoint{{Binding: saml.HTTPRedirectBinding, Location: dest}}}}}}
	u, err := forger.MakeRedirectLogoutResponseWithStatus(requestID, "", status)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// SAML 2.0 Core §3.7.3.1 (LogoutResponse) and Profiles §4.4.4.2: the
// requester checks the response answers its request, from the IdP, to it:
// https://docs.oasis-open.org/security/saml/v2.0/saml-profiles-2.0-os.pdf
func TestSAMLLogoutResponseIsVerifiedBeforeLoggedOut(t *testing.T) {
	backend := echoBackend(t, "api")
	s, forger, proxyCert := sloSetup(t, backend.URL)
	e := start(t, s)
	e.idp.AcceptSAMLProxyAs(config.ProxySAMLEntityID, proxyCert)
	tmlogout := e.url + devproxy.LogoutPath

	b := newBrowser(t)
	readSeen(t, readSAMLPost(t, get(t, b.Client, e.url+"/")).submit(t, b.Client))
	resp := get(t, b.Client, tmlogout)
	if text := body(resp); resp.StatusCode != http.StatusOK || resp.Request.URL.Path != devproxy.LoggedOutPath || !strings.Contains(text, "Logged out") {
		t.Fatalf("a logout at authdev's IdP ended at %s (%d):\n%s", resp.Request.URL, resp.StatusCode, text)
	}
	var answer string
	for _, u := range b.visited {
		if strings.HasPrefix(u, tmlogout+"?SAMLResponse=") {
			answer = u
		}
	}
	if answer == "" {
		t.Fatalf("the IdP's LogoutResponse never came back to /cgi/tmlogout: %v", b.visited)
	}
	refused := func(t *testing.T, u, reason string) {
		t.Helper()
		resp := get(t, noFollow(nil), u)
		text := html.UnescapeString(body(resp))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text, "Logout not confirmed") || !strings.Contains(text, reason) {
			t.Fatalf("want 400 Logout not confirmed because %q, got %d:\n%s", reason, resp.StatusCode, text)
		}
	}
	t.Run("replayed", func(t *testing.T) { refused(t, answer, "unsolicited, replayed or too late") })

	// A second login, whose logout stops before the IdP: the tests answer
	// its LogoutRequest themselves.
	readSeen(t, readSAMLPost(t, get(t, b.Client, e.url+"/")).submit(t, b.Client))
	first := get(t, noFollow(b.Jar), tmlogout)
	body(first)
	toIdP := first.Header.Get("Location")
	if !strings.Contains(toIdP, "/saml/slo?SAMLRequest=") {
		t.Fatalf("/cgi/tmlogout sent the browser to %q, want the IdP's SLO with a LogoutRequest", toIdP)
	}
	if r := get(t, noFollow(b.Jar), e.url+"/"); r.StatusCode != http.StatusFound {
		t.Fatalf("the proxy session still answers (%d) once the browser is on its way to the IdP", r.StatusCode)
	}
	var lr saml.LogoutRequest
	if err := xml.Unmarshal([]byte(samlRequestOf(t, toIdP)), &lr); err != nil {
		t.Fatal(err)
	}
	success := saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusSuccess}}
	t.Run("unsolicited", func(t *testing.T) {
		refused(t, logoutAnswer(t, *forger, tmlogout, "id-never-sent", success), "unsolicited, replayed or too late")
	})
	t.Run("failed status", func(t *testing.T) {
		refused(t, logoutAnswer(t, *forger, tmlogout, lr.ID, saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusResponder}}), "status code was not")
	})
	t.Run("other destination", func(t *testing.T) {
		u := logoutAnswer(t, *forger, "http://other.example.com/slo", lr.ID, success)
		refused(t, strings.Replace(u, "http://other.example.com/slo", tmlogout, 1), "Destination")
	})
	t.Run("other issuer", func(t *testing.T) {
		other := *forger
		other.EntityID = "https://evil.example.com"
		refused(t, logoutAnswer(t, other, tmlogout, lr.ID, success), "issuer does not match")
	})
	t.Run("unsigned", func(t *testing.T) {
		unsigned := *forger
		unsigned.SignatureMethod = ""
		refused(t, logoutAnswer(t, unsigned, tmlogout, lr.ID, success), "signature")
	})
	t.Run("signed by a key the metadata does not hold", func(t *testing.T) {
		stranger := *forger
		stranger.Key, stranger.Certificate = testkit.RSACertificate(t, "stranger")
		refused(t, logoutAnswer(t, stranger, tmlogout, lr.ID, success), "ignature")
	})
	// Started on localhost, the logout comes back to the proxy's listen
	// address, and verifies there.
	t.Run("localhost", func(t *testing.T) {
		local := newBrowser(t)
		at := strings.Replace(e.url, "127.0.0.1", "localhost", 1)
		readSeen(t, readSAMLPost(t, get(t, local.Client, at+"/")).submit(t, local.Client))
		resp := get(t, local.Client, at+devproxy.LogoutPath)
		if text := body(resp); resp.StatusCode != http.StatusOK || resp.Request.URL.Path != devproxy.LoggedOutPath {
			t.Fatalf("a logout started on localhost ended at %s (%d):\n%s", resp.Request.URL, resp.StatusCode, text)
		}
	})
	// The refusals used nothing up: the right answer still logs out.
	ok := get(t, noFollow(nil), logoutAnswer(t, *forger, tmlogout, lr.ID, success))
	if loc := ok.Header.Get("Location"); ok.StatusCode != http.StatusFound || loc != devproxy.LoggedOutPath {
		t.Fatalf("a right LogoutResponse answered %d to %q, want the logged-out page", ok.StatusCode, loc)
	}
}
