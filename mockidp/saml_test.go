package mockidp_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"

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
			"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups":     {"sg-prod-admins"},
			"http://schemas.microsoft.com/ws/2008/06/identity/claims/role":       {"admin", "auditor"},
			"http://schemas.microsoft.com/identity/claims/displayname":           {"Alice Admin"},
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/department":   {"platform"},
		},
		"a0": {
			"http://schemas.xmlsoap.org/claims/Group":                            {"eng-admins", "eng"},
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":         {"Alice Admin"},
			"http://schemas.auth0.com/department":                                {"platform"},
			"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": {"alice@example.com"},
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
