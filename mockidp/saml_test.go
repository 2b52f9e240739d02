package mockidp_test

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/internal/flavor"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

func TestSAMLRedirectLoginWithLoginHintGivesASignedAssertionAboutThePersona(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	sp := testSP(t, srv, "dev", "https://app.example.com/saml", "https://app.example.com/saml/acs2")
	id, u := redirectLogin(t, sp, "/after", "alice")
	f := parseSAMLForm(t, get(t, browser(t), u))
	if f.Action != "https://app.example.com/saml/acs2" || f.RelayState != "/after" {
		t.Fatalf("form posts to %q with RelayState %q, want the requested ACS and the RelayState", f.Action, f.RelayState)
	}
	a, err := f.consume(t, sp, id)
	if err != nil {
		t.Fatalf("crewjam/saml's SP refused the response: %v", err)
	}
	if a.Signature == nil {
		t.Error("the assertion is not signed")
	}
	if a.Issuer.Value != srv.SAMLEndpoints("dev").Metadata {
		t.Errorf("Issuer %q, want the metadata URL", a.Issuer.Value)
	}
	if a.Subject.NameID.Value != "alice@example.com" || a.Subject.NameID.Format != string(saml.EmailAddressNameIDFormat) {
		t.Errorf("NameID %q (%s), want alice's email in the emailAddress format", a.Subject.NameID.Value, a.Subject.NameID.Format)
	}
	sc := a.Subject.SubjectConfirmations[0].SubjectConfirmationData
	if sc.InResponseTo != id || sc.Recipient != "https://app.example.com/saml/acs2" {
		t.Errorf("confirmation InResponseTo %q Recipient %q", sc.InResponseTo, sc.Recipient)
	}
	if got := a.Conditions.AudienceRestrictions[0].Audience.Value; got != "https://app.example.com/saml" {
		t.Errorf("Audience %q, want the SP's entity id", got)
	}
	if life := a.Conditions.NotOnOrAfter.Sub(a.IssueInstant); life < 4*time.Minute || life > 5*time.Minute {
		t.Errorf("assertion lives %v, want 5 min", life)
	}
	st := a.AuthnStatements[0]
	if st.SessionIndex == "" || st.AuthnContext.AuthnContextClassRef == nil {
		t.Errorf("AuthnStatement without SessionIndex or AuthnContext: %+v", st)
	}
	got := attrs(a)
	want := map[string][]string{"email": {"alice@example.com"}, "name": {"Alice Admin"}, "groups": {"eng-admins", "eng"},
		"roles": {"admin", "reader"}, "department": {"platform"}, "tags": {"a", "b"}}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("attribute %q = %q, want %q (okta's plain names)", k, got[k], v)
		}
	}
}

// Entra ID's SAML tokens name claims by URI:
// https://learn.microsoft.com/en-us/entra/identity-platform/reference-saml-tokens
func TestSAMLAttributesTakeTheFlavorsNames(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	cases := map[string]map[string][]string{
		"prod": {
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": {"alice@example.com"},
			// Object IDs, as Entra's groups claim has them.
			"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups":   {flavor.UUID("group", "prod", "sg-prod-admins")},
			"http://schemas.microsoft.com/ws/2008/06/identity/claims/role":     {"admin", "auditor"},
			"http://schemas.microsoft.com/identity/claims/displayname":         {"Alice Admin"},
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/department": {"platform"},
		},
		"a0": {
			"http://schemas.xmlsoap.org/claims/Group":                            {"eng-admins", "eng"},
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":         {"Alice Admin"},
			"http://schemas.auth0.com/department":                                {"platform"},
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": {"alice@example.com"},
		},
		// ADFS's claim types, as its "Send LDAP Attributes as Claims" rules
		// issue them: https://learn.microsoft.com/en-us/windows-server/identity/ad-fs/technical-reference/when-to-use-a-send-ldap-attributes-as-claims-rule
		"fs": {
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":          {"alice@example.com"},
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": {"alice@example.com"},
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":         {"Alice Admin"},
			"http://schemas.xmlsoap.org/claims/Group":                            {"eng-admins", "eng"},
			"http://schemas.microsoft.com/ws/2008/06/identity/claims/role":       {"admin"},
		},
	}
	for env, want := range cases {
		t.Run(env, func(t *testing.T) {
			sp := testSP(t, srv, env, "https://app.example.com/saml", "https://app.example.com/saml/acs")
			id, u := redirectLogin(t, sp, "", "alice")
			a, err := parseSAMLForm(t, get(t, browser(t), u)).consume(t, sp, id)
			if err != nil {
				t.Fatal(err)
			}
			got := attrs(a)
			for k, v := range want {
				if !slices.Equal(got[k], v) {
					t.Errorf("attribute %q = %q, want %q; all: %v", k, got[k], v, got)
				}
			}
		})
	}
}

// ADFS names its SAML IdP by its Federation Service identifier, which
// relying parties compare with the issuer, by default
// http://<host>/adfs/services/trust whatever the scheme it serves on:
// https://learn.microsoft.com/en-us/windows-server/identity/ad-fs/technical-reference/how-uris-are-used-in-ad-fs
func TestSAMLIdPOfTheADFSFlavorIsNamedAsADFSNamesIt(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	want := "http://" + strings.TrimPrefix(srv.BaseURL(), "http://") + "/fs/adfs/services/trust"
	sp := testSP(t, srv, "fs", "https://app.example.com/saml", "https://app.example.com/saml/acs")
	if sp.IDPMetadata.EntityID != want || srv.SAMLEndpoints("fs").EntityID != want {
		t.Fatalf("entity id %q (endpoints %q), want %q", sp.IDPMetadata.EntityID, srv.SAMLEndpoints("fs").EntityID, want)
	}
	id, u := redirectLogin(t, sp, "", "alice")
	a, err := parseSAMLForm(t, get(t, browser(t), u)).consume(t, sp, id)
	if err != nil || a.Issuer.Value != want {
		t.Fatalf("assertion issuer %v: %v", a, errDetail(err))
	}
	if dev := testSP(t, srv, "dev", "https://app.example.com/saml", "https://app.example.com/saml/acs"); dev.IDPMetadata.EntityID != srv.SAMLEndpoints("dev").Metadata {
		t.Errorf("other flavors keep the metadata URL as entity id, got %q", dev.IDPMetadata.EntityID)
	}
}

func TestSAMLPickerWorksWithoutJavaScriptForBothBindings(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	sp := testSP(t, srv, "dev", "https://app.example.com/saml", "https://app.example.com/saml/acs")
	c := browser(t)

	t.Run("HTTP-Redirect", func(t *testing.T) {
		id, u := redirectLogin(t, sp, "rs", "")
		p := get(t, c, u)
		if p.status != http.StatusOK || !strings.Contains(p.body, `name="persona" value="bob"`) {
			t.Fatalf("want the picker, got %d:\n%s", p.status, p.body)
		}
		resp, err := c.PostForm(u, map[string][]string{"persona": {"bob"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("choosing a persona answered %d, want 303 back to the SSO URL", resp.StatusCode)
		}
		f := parseSAMLForm(t, get(t, c, location(t, resp)))
		a, err := f.consume(t, sp, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Subject.NameID.Value != "bob@example.com" || f.RelayState != "rs" {
			t.Errorf("NameID %q RelayState %q, want bob and rs", a.Subject.NameID.Value, f.RelayState)
		}
	})
	t.Run("HTTP-POST", func(t *testing.T) {
		req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(saml.HTTPPostBinding), saml.HTTPPostBinding, saml.HTTPPostBinding)
		if err != nil {
			t.Fatal(err)
		}
		form := map[string][]string{"SAMLRequest": {b64(t, req)}, "RelayState": {"x"}, "persona": {"alice"}}
		resp, err := browser(t).PostForm(srv.SAMLEndpoints("dev").SSO, form)
		if err != nil {
			t.Fatal(err)
		}
		f := parseSAMLForm(t, readAll(t, resp))
		a, err := f.consume(t, sp, req.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Subject.NameID.Value != "alice@example.com" {
			t.Errorf("NameID %q, want alice", a.Subject.NameID.Value)
		}
	})
	t.Run("an IdP session serves the next login without the picker", func(t *testing.T) {
		id, u := redirectLogin(t, sp, "", "")
		a, err := parseSAMLForm(t, get(t, c, u)).consume(t, sp, id)
		if err != nil || a.Subject.NameID.Value != "bob@example.com" {
			t.Fatalf("second login: %v, %+v", err, a)
		}
	})
	t.Run("cancel answers the SP with AuthnFailed", func(t *testing.T) {
		id, u := redirectLogin(t, sp, "", "")
		resp, err := browser(t).PostForm(u, map[string][]string{"cancel": {"1"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		f := parseSAMLForm(t, get(t, browser(t), location(t, resp)))
		if _, err := f.consume(t, sp, id); err == nil || !strings.Contains(string(f.responseXML(t)), "status:AuthnFailed") {
			t.Fatalf("a cancelled login must reach the SP as AuthnFailed, got %v:\n%s", errDetail(err), f.responseXML(t))
		}
	})
}

func TestSAMLRefusesUnregisteredSPsAndForeignACSWithAPageNeverAnAssertion(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	cases := []struct{ name, entityID, acs, want string }{
		{"unknown SP", "https://evil.example.com", "https://evil.example.com/acs", "idp.saml.service_providers"},
		{"foreign ACS", "https://app.example.com/saml", "https://evil.example.com/acs", "acs_urls"},
		{"proxy ACS off loopback", "urn:authdev:proxy", "https://evil.example.com/cgi/samlauth", "acs_urls"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp := testSP(t, srv, "dev", c.entityID, c.acs)
			_, u := redirectLogin(t, sp, "", "alice")
			p := get(t, browser(t), u)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, c.want) || strings.Contains(p.body, "SAMLResponse") {
				t.Fatalf("want a 400 error page naming %q and no SAMLResponse, got %d:\n%s", c.want, p.status, p.body)
			}
		})
	}
}

func TestSAMLServiceProviderSettingsShapeTheResponse(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	login := func(t *testing.T, entityID, acs string) (samlForm, *saml.Assertion) {
		sp := testSP(t, srv, "dev", entityID, acs)
		id, u := redirectLogin(t, sp, "", "alice")
		f := parseSAMLForm(t, get(t, browser(t), u))
		a, err := f.consume(t, sp, id)
		if err != nil {
			t.Fatalf("SP refused: %v", errDetail(err))
		}
		return f, a
	}
	t.Run("persistent NameID, unsigned response, renamed and dropped attributes", func(t *testing.T) {
		f, a := login(t, "https://persistent.example.com", "https://persistent.example.com/acs")
		if a.Subject.NameID.Format != string(saml.PersistentNameIDFormat) || strings.Contains(a.Subject.NameID.Value, "@") {
			t.Errorf("NameID %q (%s), want an opaque persistent id", a.Subject.NameID.Value, a.Subject.NameID.Format)
		}
		_, a2 := login(t, "https://persistent.example.com", "https://persistent.example.com/acs")
		if a2.Subject.NameID.Value != a.Subject.NameID.Value {
			t.Errorf("persistent NameID changed between logins: %q, %q", a.Subject.NameID.Value, a2.Subject.NameID.Value)
		}
		x := string(f.responseXML(t))
		if signatures(x) != 1 {
			t.Errorf("want one signature (the assertion's) with sign_response: false:\n%s", x)
		}
		got := attrs(a)
		if !slices.Equal(got["memberOf"], []string{"eng-admins", "eng"}) || got["groups"] != nil || got["department"] != nil {
			t.Errorf("attributes %v: want groups renamed memberOf and department dropped", got)
		}
	})
	t.Run("transient NameID, signed response around an unsigned assertion", func(t *testing.T) {
		f, a := login(t, "https://transient.example.com", "https://transient.example.com/acs")
		_, a2 := login(t, "https://transient.example.com", "https://transient.example.com/acs")
		if a.Subject.NameID.Format != string(saml.TransientNameIDFormat) || a.Subject.NameID.Value == a2.Subject.NameID.Value {
			t.Errorf("NameIDs %q, %q (%s): want a fresh transient id per session", a.Subject.NameID.Value, a2.Subject.NameID.Value, a.Subject.NameID.Format)
		}
		if a.Signature != nil || signatures(string(f.responseXML(t))) != 1 {
			t.Errorf("want only the response signed with sign_assertion: false:\n%s", f.responseXML(t))
		}
	})
}

func TestSAMLEncryptsAssertionsToTheSPsCertificate(t *testing.T) {
	key, cert := spKey(t)
	cfg := idptest.Config(t, `
idp:
  saml:
    service_providers:
      - {entity_id: https://enc.example.com, acs_url: https://enc.example.com/acs, encrypt_assertion: true, certificate: `+writeCert(t, cert)+`}
personas: {alice: {email: alice@example.com}}
`)
	srv := idptest.NewTestServer(t, cfg)
	sp := testSP(t, srv, "dev", "https://enc.example.com", "https://enc.example.com/acs")
	sp.Key, sp.Certificate = key, cert
	id, u := redirectLogin(t, sp, "", "alice")
	f := parseSAMLForm(t, get(t, browser(t), u))
	if x := string(f.responseXML(t)); !strings.Contains(x, "EncryptedAssertion") || strings.Contains(x, "alice@example.com") {
		t.Fatalf("the assertion travels in the clear:\n%s", x)
	}
	a, err := f.consume(t, sp, id)
	if err != nil || a.Subject.NameID.Value != "alice@example.com" {
		t.Fatalf("the SP could not decrypt: %v", errDetail(err))
	}
}

func TestSAMLIdPInitiatedLogin(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	sp := testSP(t, srv, "dev", "https://app.example.com/saml", "https://app.example.com/saml/acs")
	sp.AllowIDPInitiated = true
	u := srv.SAMLEndpoints("dev").IDPInitiated + "?sp=" + "https://app.example.com/saml" + "&RelayState=%2Fhome"
	c := browser(t)
	if p := get(t, c, u); p.status != http.StatusOK || !strings.Contains(p.body, `value="alice"`) {
		t.Fatalf("want the picker first, got %d:\n%s", p.status, p.body)
	}
	f := parseSAMLForm(t, readAll(t, mustPost(t, c, u, map[string][]string{"persona": {"alice"}})))
	if f.Action != "https://app.example.com/saml/acs" || f.RelayState != "/home" {
		t.Errorf("form to %q RelayState %q, want the default ACS and /home", f.Action, f.RelayState)
	}
	a, err := f.consume(t, sp)
	if err != nil || a.Subject.NameID.Value != "alice@example.com" {
		t.Fatalf("IdP-initiated response refused: %v", errDetail(err))
	}
	if p := get(t, c, srv.SAMLEndpoints("dev").IDPInitiated+"?sp=https://unknown.example.com"); p.status != http.StatusNotFound {
		t.Errorf("IdP-initiated login to an unknown SP answered %d, want 404", p.status)
	}
}

func mustPost(t testing.TB, c *http.Client, u string, form map[string][]string) *http.Response {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// The metadata is what SPs import: saml-metadata-2.0-os §2.4.3.
func TestSAMLMetadataDescribesTheIdP(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	ep := srv.SAMLEndpoints("dev")
	p := get(t, browser(t), ep.Metadata)
	if ct := p.header.Get("Content-Type"); ct != "application/samlmetadata+xml" {
		t.Errorf("Content-Type %q", ct)
	}
	md, err := samlsp.ParseMetadata([]byte(p.body))
	if err != nil {
		t.Fatal(err)
	}
	d := md.IDPSSODescriptors[0]
	var sso, slo []string
	for _, s := range d.SingleSignOnServices {
		sso = append(sso, s.Binding+" "+s.Location)
	}
	for _, s := range d.SingleLogoutServices {
		slo = append(slo, s.Location)
	}
	wantSSO := []string{saml.HTTPRedirectBinding + " " + ep.SSO, saml.HTTPPostBinding + " " + ep.SSO}
	if md.EntityID != ep.Metadata || !slices.Equal(sso, wantSSO) || !slices.Contains(slo, ep.SLO) {
		t.Errorf("entity %q, SSO %q, SLO %q", md.EntityID, sso, slo)
	}
	if len(d.NameIDFormats) != 4 || d.NameIDFormats[0] != saml.EmailAddressNameIDFormat {
		t.Errorf("NameID formats %q, want emailAddress first, persistent, transient, unspecified", d.NameIDFormats)
	}
	if len(d.KeyDescriptors) == 0 || d.KeyDescriptors[0].Use != "signing" {
		t.Errorf("no signing certificate: %+v", d.KeyDescriptors)
	}
	if other := get(t, browser(t), srv.SAMLEndpoints("prod").Metadata); strings.Contains(other.body, d.KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data) {
		t.Error("dev and prod share a signing certificate: each environment has its own keys")
	}
}

func TestSAMLServiceProvidersFromMetadataFileAndURLWithSignedLogout(t *testing.T) {
	key, cert := spKey(t)
	fromFile := &saml.ServiceProvider{EntityID: "https://file.example.com/sp", AcsURL: *mustURL(t, "https://file.example.com/acs"),
		SloURL: *mustURL(t, "https://file.example.com/slo"), Key: key, Certificate: cert, SignatureMethod: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
		LogoutBindings: []string{saml.HTTPRedirectBinding}}
	fromURL := &saml.ServiceProvider{EntityID: "https://url.example.com/sp", AcsURL: *mustURL(t, "https://url.example.com/acs"), Key: key, Certificate: cert}
	file := filepath.Join(t.TempDir(), "sp.xml")
	raw, _ := xml.Marshal(fromFile.Metadata())
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	mdServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := xml.Marshal(fromURL.Metadata())
		w.Write(b)
	}))
	t.Cleanup(mdServer.Close)
	srv := idptest.NewTestServer(t, idptest.Config(t, `
idp:
  saml:
    service_providers:
      - {metadata: `+file+`}
      - {metadata: `+mdServer.URL+`}
personas: {alice: {email: alice@example.com}}
`), mockidp.Options{Events: func(e audit.Event) { t.Log(e.Message) }})
	c := browser(t)
	for _, sp := range []*saml.ServiceProvider{fromFile, fromURL} {
		idpSP := testSP(t, srv, "dev", sp.EntityID, sp.AcsURL.String())
		sp.IDPMetadata = idpSP.IDPMetadata
		id, u := redirectLogin(t, sp, "", "alice")
		if _, err := parseSAMLForm(t, get(t, c, u)).consume(t, sp, id); err != nil {
			t.Fatalf("%s: %v", sp.EntityID, errDetail(err))
		}
	}

	lr, err := fromFile.MakeRedirectLogoutRequest("alice@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(lr.String())
	if err != nil {
		t.Fatal(err)
	}
	slo := readAll(t, resp)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "https://file.example.com/slo?SAMLResponse=") {
		t.Fatalf("a signed LogoutRequest answered %d to %q, want a LogoutResponse to the SP's SLO:\n%s", resp.StatusCode, loc, slo.body)
	}
	_, u := redirectLogin(t, fromURL, "", "")
	if p := get(t, c, u); !strings.Contains(p.body, `name="persona"`) {
		t.Fatalf("after SP-initiated logout the IdP still has a session:\n%s", p.body)
	}
}

// A LogoutRequest the IdP cannot accept (unsigned here) gets the SAML error
// page with the reason, not a bare "Bad Request".
func TestSAMLRefusedLogoutRequestGetsAPageWithTheReason(t *testing.T) {
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	sp := testSP(t, srv, "dev", "https://app.example.com/saml", "https://app.example.com/saml/acs")
	sp.Key, sp.Certificate = nil, nil
	lr, err := sp.MakeRedirectLogoutRequest("alice@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	p := get(t, browser(t), lr.String())
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "This SAML request cannot continue") || !strings.Contains(p.body, "logout request") {
		t.Fatalf("want the SAML error page naming the logout request's problem, got %d %s:\n%s", p.status, p.header.Get("Content-Type"), p.body)
	}
}
