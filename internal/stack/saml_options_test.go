package stack

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/testkit"
)

// -groupNameField is the "Name of the tag in assertion that contains user
// groups" and -defaultAuthenticationGroup "the default group that is
// chosen when the authentication succeeds in addition to extracted
// groups" in the NITRO reference:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
// After a login by that samlAction, AAA.USER.IS_MEMBER_OF answers for the
// groups in that attribute and the default group, and not for the IdP's
// usual groups attribute; a login by another samlAction, without them, has
// the IdP's groups.
func TestEachSAMLActionsGroupNameFieldAndDefaultGroupAreItsUsersGroups(t *testing.T) {
	s := startSAMLStackOf(t, t.TempDir(), "alice: {email: alice@example.com, groups: [engineering], claims: {team: [payments, search]}}", "okta",
		`add authentication samlAction saml_local -samlUserField email -groupNameField team -defaultAuthenticationGroup saml_users -samlIssuerName "https://local.example.com" -samlBinding REDIRECT
add authentication samlAction saml_ip -samlUserField email -samlIssuerName "https://ip.example.com" -samlBinding REDIRECT
`+samlByHost+`add responder action say_team respondwith "\"team and default group\""
add responder policy p_team "AAA.USER.IS_MEMBER_OF(\"payments\") && AAA.USER.IS_MEMBER_OF(\"search\") && AAA.USER.IS_MEMBER_OF(\"saml_users\") && !AAA.USER.IS_MEMBER_OF(\"engineering\")" say_team
add responder action say_idp respondwith "\"the IdP's groups\""
add responder policy p_idp "AAA.USER.IS_MEMBER_OF(\"engineering\") && !AAA.USER.IS_MEMBER_OF(\"payments\") && !AAA.USER.IS_MEMBER_OF(\"saml_users\")" say_idp
bind responder global p_team 10 END
bind responder global p_idp 20 END
`)
	if w := strings.Join(s.Warnings(), "\n"); strings.Contains(w, "groupNameField") || strings.Contains(w, "defaultAuthenticationGroup") {
		t.Errorf("warnings about the groups:\n%s", w)
	}
	answersByHost(t, s, "/x", "the responder's answer", "team and default group", "the IdP's groups")
}

// -metadataUrl (ADC 13.0 and later) gives the IdP by its metadata, which
// "fills samlIdPCertName and samlredirectUrl" in the NITRO reference:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
// Browsers log in at that IdP, here authdev's IdP of another stack
// standing for an external one, with each binding its metadata offers,
// the artifact's resolution service included.
func TestASAMLActionLogsInAtTheIdPOfItsMetadataURL(t *testing.T) {
	other, _ := otherSAMLIdP(t)
	ep := other.IdP().SAMLEndpoints("dev")
	for _, binding := range []string{"REDIRECT", "ARTIFACT"} {
		t.Run(binding, func(t *testing.T) {
			s := startSAMLStack(t, t.TempDir(), "okta", `add authentication samlAction saml_md -metadataUrl "`+ep.Metadata+`" -samlUserField email -samlBinding `+binding+`
add authentication Policy saml_pol -rule true -action saml_md
`)
			if w := strings.Join(s.Warnings(), "\n"); strings.Contains(w, "saml_md") {
				t.Errorf("warnings about the samlAction:\n%s", w)
			}
			if binding == "ARTIFACT" {
				hops, code, b := artifactLogin(t, s, "/x")
				if code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) || !byArtifact(hops) || len(hops) == 0 || !strings.HasPrefix(hops[0], ep.SSO+"?") {
					t.Fatalf("the artifact login answered %d through\n%s\n%s", code, strings.Join(hops, "\n"), b)
				}
				return
			}
			c, resp := s.browse(t, s.ProxyURL()+"/x")
			if at := resp.Request.URL.String(); !strings.HasPrefix(at, ep.SSO+"?SAMLRequest=") {
				t.Fatalf("the browser logs in at %s, want the SSO service of -metadataUrl's IdP %s", at, ep.SSO)
			}
			if code, b := finishSAMLLogin(t, c, resp); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
				t.Fatalf("the login answered %d:\n%s", code, b)
			}
		})
	}
}

// -artifactResolutionServiceURL is the "URL of the Artifact Resolution
// Service on IdP to which Citrix ADC will post artifact to get actual SAML
// token" in the NITRO reference:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
// With -samlRedirectUrl and -samlIdPCertName, which name no IdP entity id,
// an artifact login resolves there, and the response must still be signed
// by -samlIdPCertName's certificate.
func TestASAMLActionResolvesArtifactsAtItsArtifactResolutionServiceURL(t *testing.T) {
	other, certPEM := otherSAMLIdP(t)
	ep := other.IdP().SAMLEndpoints("dev")
	withEachIdPCertificate(t, certPEM, func(t *testing.T, cert []byte, want int) {
		s := stackAtOtherIdP(t, cert, `add authentication samlAction saml_other -samlIdPCertName other_idp -samlRedirectUrl "`+ep.SSO+`" -artifactResolutionServiceURL "`+ep.ArtifactResolution+`" -samlUserField email -samlBinding ARTIFACT`)
		hops, code, b := artifactLogin(t, s, "/x")
		if code != want || !byArtifact(hops) || len(hops) == 0 || !strings.HasPrefix(hops[0], ep.SSO+"?") {
			t.Fatalf("the artifact login answered %d, want %d, through\n%s\n%s", code, want, strings.Join(hops, "\n"), b)
		}
		if want == http.StatusOK && !strings.Contains(b, `"user":"alice@example.com"`) {
			t.Fatalf("after the login the backend saw %s", b)
		}
	})
}

// Two samlActions known by -samlRedirectUrl and
// -artifactResolutionServiceURL, at two IdPs, each awaiting an artifact at
// once: an artifact's SourceID names no IdP the proxy knows by entity id,
// so the browser's NSC_TASS cookie tells which login it answers, and each
// is resolved at its own samlAction's service.
func TestArtifactsOfTwoSAMLActionsByURLAwaitedAtOnceAreToldApart(t *testing.T) {
	otherA, pemA := otherSAMLIdP(t)
	otherB, pemB := otherSAMLIdP(t)
	a, b := otherA.IdP().SAMLEndpoints("dev"), otherB.IdP().SAMLEndpoints("dev")
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{"certs/a.pem": string(pemA), "certs/b.pem": string(pemB)})
	s := startSAMLStack(t, dir, "okta", `add ssl certKey idp_a -cert certs/a.pem
add ssl certKey idp_b -cert certs/b.pem
add authentication samlAction saml_local -samlIdPCertName idp_a -samlRedirectUrl "`+a.SSO+`" -artifactResolutionServiceURL "`+a.ArtifactResolution+`" -samlUserField email -samlBinding ARTIFACT
add authentication samlAction saml_ip -samlIdPCertName idp_b -samlRedirectUrl "`+b.SSO+`" -artifactResolutionServiceURL "`+b.ArtifactResolution+`" -samlUserField email -samlBinding ARTIFACT
`+samlByHost)
	ip := s.ProxyURL()
	local := strings.Replace(ip, "127.0.0.1", "localhost", 1)
	// Each browser goes to its IdP and comes back with an artifact, which
	// it holds until both have one.
	type browser struct {
		c        *http.Client
		idp, art string
	}
	var browsers []browser
	for _, tc := range []struct{ origin, sso string }{{local, a.SSO}, {ip, b.SSO}} {
		c := s.client(t)
		var idp string
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), tc.sso) {
				idp = req.URL.String()
			}
			if req.URL.Path == devproxy.SAMLACSPath {
				return http.ErrUseLastResponse
			}
			return nil
		}
		resp, err := c.Get(tc.origin + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		art := resp.Header.Get("Location")
		if idp == "" || !strings.Contains(art, "SAMLart=") {
			t.Fatalf("the login at %s went to the IdP at %q and back to %q, want %s and an artifact", tc.origin, idp, art, tc.sso)
		}
		browsers = append(browsers, browser{c, idp, art})
	}
	for _, br := range browsers {
		br.c.CheckRedirect = nil
		resp, err := br.c.Get(br.art)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"user":"alice@example.com"`) {
			t.Fatalf("the artifact %s, from %s, answered %d:\n%s", br.art, br.idp, resp.StatusCode, body)
		}
	}
}

// Two samlActions logging in by artifact at one IdP, authdev's own: the
// artifact's SourceID names that IdP for both, and the login its browser
// started is the one it answers.
func TestArtifactsOfTwoSAMLActionsAtOneIdPAnswerTheLoginOfTheirBrowser(t *testing.T) {
	s := startSAMLStack(t, t.TempDir(), "okta", `add authentication samlAction saml_local -samlUserField email -samlBinding ARTIFACT
add authentication samlAction saml_ip -samlUserField email -samlBinding ARTIFACT
`+samlByHost)
	ip := s.ProxyURL()
	for _, origin := range []string{ip, strings.Replace(ip, "127.0.0.1", "localhost", 1)} {
		var hops []string
		c := s.client(t)
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			hops = append(hops, req.URL.String())
			return nil
		}
		resp, err := c.Get(origin + "/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !byArtifact(hops) || !strings.Contains(string(b), `"user":"alice@example.com"`) {
			t.Fatalf("the artifact login at %s answered %d through\n%s\n%s", origin, resp.StatusCode, strings.Join(hops, "\n"), b)
		}
	}
}

// -forceAuthn ON is the "Option that forces authentication at the Identity
// Provider (IdP) that receives Citrix ADC's request" in the NITRO
// reference:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
// Its AuthnRequests say ForceAuthn, so a browser the IdP knows is asked who
// it is again, where without it the IdP's session logs it in at once. No
// persona is active, so the proxy itself forces nothing.
func TestASAMLActionWithForceAuthnHasTheIdPAuthenticateAgain(t *testing.T) {
	for _, tc := range []struct {
		opt   string
		force bool
	}{{"", false}, {" -forceAuthn ON", true}} {
		t.Run("force "+tc.opt, func(t *testing.T) {
			cfg := samlStackConfig(t, t.TempDir(), "alice: {email: alice@example.com}", "okta", `add authentication samlAction saml_idp -samlUserField email -samlBinding REDIRECT`+tc.opt+`
add authentication Policy saml_pol -rule true -action saml_idp
`, "")
			s := startUp(t, Options{Config: cfg, Upstream: "api=" + whoBackend(t)})
			c, resp := s.browse(t, s.ProxyURL()+"/x")
			req := authnRequestOf(t, resp.Request.URL)
			if forced := req.ForceAuthn != nil && *req.ForceAuthn; forced != tc.force {
				t.Errorf("the AuthnRequest's ForceAuthn is %v, want %v", forced, tc.force)
			}
			if code, b := finishSAMLLogin(t, c, pickPersona(t, c, resp, "alice")); code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`) {
				t.Fatalf("the first login answered %d:\n%s", code, b)
			}
			// The proxy's session ends; the IdP's does not.
			if out, err := c.Get(s.ProxyURL() + devproxy.LogoutPath); err != nil {
				t.Fatal(err)
			} else {
				out.Body.Close()
			}
			again, err := c.Get(s.ProxyURL() + "/x")
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(again.Body)
			again.Body.Close()
			if asked := strings.Contains(string(page), `name="persona"`); asked != tc.force {
				t.Fatalf("logging in again, the IdP asks who logs in: %v, want %v; at %s:\n%s", asked, tc.force, again.Request.URL, page)
			}
		})
	}
}

// pickPersona chooses persona on the IdP's persona picker in resp, as a
// browser does: the picker posts back to where it is shown.
func pickPersona(t *testing.T, c *http.Client, resp *http.Response, persona string) *http.Response {
	t.Helper()
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `name="persona"`) {
		t.Fatalf("at %s (%d) no persona picker:\n%s", resp.Request.URL, resp.StatusCode, page)
	}
	out, err := c.PostForm(resp.Request.URL.String(), url.Values{"persona": {persona}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// -audience is the "Audience for which assertion sent by IdP is
// applicable" in the NITRO reference:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
// An assertion for it is accepted though it is not -samlIssuerName, and
// without -audience the same assertion is refused. The IdP sends one by an
// IdP-initiated login for the service provider urn:app, whose ACS is the
// proxy's.
func TestASAMLActionAcceptsAssertionsForItsAudience(t *testing.T) {
	for _, tc := range []struct {
		opt  string
		want int
	}{{` -audience "urn:app"`, http.StatusOK}, {"", http.StatusUnauthorized}} {
		t.Run("audience "+tc.opt, func(t *testing.T) {
			addr := testkit.FreeLoopbackAddr(t)
			cfg := samlStackConfig(t, t.TempDir(), "alice: {email: alice@example.com}", "okta", `add authentication samlAction saml_idp -samlUserField email -samlIssuerName "https://app.example.com"`+tc.opt+`
add authentication Policy saml_pol -rule true -action saml_idp
`, "idp:\n  saml:\n    service_providers:\n      - {entity_id: \"urn:app\", acs_url: \"http://"+addr+devproxy.SAMLACSPath+"\"}\n")
			s := startUp(t, Options{Config: cfg, Persona: "alice", ProxyListen: addr, Upstream: "api=" + whoBackend(t)})
			c := s.client(t)
			resp, err := c.Get(s.IdP().SAMLEndpoints("dev").IDPInitiated + "?sp=urn:app&login_hint=alice")
			if err != nil {
				t.Fatal(err)
			}
			out := postSAMLForm(t, c, resp)
			b, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if out.StatusCode != tc.want {
				t.Fatalf("the assertion for urn:app answered %d, want %d:\n%s", out.StatusCode, tc.want, html.UnescapeString(string(b)))
			}
			if tc.want != http.StatusOK && !strings.Contains(html.UnescapeString(string(b)), "AudienceRestriction") {
				t.Errorf("the refusal does not say the audience is wrong:\n%s", b)
			}
		})
	}
}

// -samlRejectUnsignedAssertion: "ON option results in rejection of
// Assertion that is received without signature. STRICT option ensures that
// both Response and Assertion are signed" (NITRO reference, where ON is the
// default:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/current-release/configuration/authentication/authenticationsamlaction).
// An IdP apart signs, for the proxy's -samlIssuerName, both, only the
// Response (sign_assertion: false) or only the assertion (sign_response:
// false); each login is answered as the appliance answers it.
func TestSAMLRejectUnsignedAssertionWantsTheAssertionAndStrictlyTheResponseSigned(t *testing.T) {
	for _, idp := range []struct {
		signing          string
		onWhy, strictWhy string // why ON (written or not) and STRICT refuse; "" when they log in
	}{
		{"", "", ""},
		{", sign_assertion: false", "its assertion is not signed", "its assertion is not signed"},
		{", sign_response: false", "", "the Response is not signed"},
	} {
		t.Run("signed"+idp.signing, func(t *testing.T) {
			addrs := []string{testkit.FreeLoopbackAddr(t), testkit.FreeLoopbackAddr(t), testkit.FreeLoopbackAddr(t)}
			dir := testkit.WriteFiles(t, t.TempDir(), map[string]string{"authdev.yaml": `personas:
  alice: {email: alice@example.com}
environments:
  dev: {flavor: okta}
idp:
  saml:
    service_providers:
      - {entity_id: "https://strict.example.com", acs_urls: ["http://` + addrs[0] + devproxy.SAMLACSPath + `", "http://` + addrs[1] + devproxy.SAMLACSPath + `", "http://` + addrs[2] + devproxy.SAMLACSPath + `"]` + idp.signing + `}
`})
			cfg, err := testkit.LoadFile(filepath.Join(dir, "authdev.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			other, certPEM := otherSAMLIdPOf(t, cfg)
			ep := other.IdP().SAMLEndpoints("dev")
			for i, tc := range []struct{ opt, why string }{
				{" -samlBinding REDIRECT", idp.onWhy},
				{" -samlBinding REDIRECT -samlRejectUnsignedAssertion STRICT", idp.strictWhy},
				// The Response comes inside the ArtifactResponse.
				{` -samlBinding ARTIFACT -artifactResolutionServiceURL "` + ep.ArtifactResolution + `" -samlRejectUnsignedAssertion STRICT`, idp.strictWhy},
			} {
				pdir := testkit.WriteFiles(t, t.TempDir(), map[string]string{"certs/idp.pem": string(certPEM)})
				pcfg := samlStackConfig(t, pdir, "alice: {email: alice@example.com}", "okta", `add ssl certKey other_idp -cert certs/idp.pem
add authentication samlAction saml_other -samlIdPCertName other_idp -samlRedirectUrl "`+ep.SSO+`" -samlIssuerName "https://strict.example.com" -samlUserField email`+tc.opt+`
add authentication Policy saml_pol -rule true -action saml_other
`, "")
				s := startUp(t, Options{Config: pcfg, Persona: "alice", ProxyListen: addrs[i], Upstream: "api=" + whoBackend(t)})
				c, resp := s.browse(t, s.ProxyURL()+"/x")
				var code int
				var b string
				if strings.Contains(tc.opt, "ARTIFACT") {
					raw, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					code, b = resp.StatusCode, html.UnescapeString(string(raw))
				} else {
					code, b = finishSAMLLogin(t, c, resp)
				}
				switch {
				case tc.why == "" && (code != http.StatusOK || !strings.Contains(b, `"user":"alice@example.com"`)):
					t.Errorf("with%s the login answered %d, want the backend:\n%s", tc.opt, code, b)
				case tc.why != "" && (code != http.StatusUnauthorized || !strings.Contains(b, tc.why)):
					t.Errorf("with%s the login answered %d, want 401 saying %q:\n%s", tc.opt, code, tc.why, b)
				}
			}
		})
	}
}

// What the proxy cannot follow of a samlAction's options is named: a
// -skewTime (minutes of "allowed clock skew" in the NITRO reference,
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction)
// other than the skew crewjam/saml allows the whole process, and
// -artifactResolutionServiceURL beside -metadataUrl, whose metadata names
// the resolution service.
func TestSAMLActionOptionsTheProxyCannotFollowAreWarnings(t *testing.T) {
	for _, tc := range []struct {
		action adc.SAMLAction
		want   string
	}{
		{adc.SAMLAction{SkewTime: "10"}, `-skewTime 10 is not emulated: the proxy allows 3 minutes of clock skew on assertions`},
		{adc.SAMLAction{SkewTime: "0"}, `-skewTime 0 is not emulated`},
		{adc.SAMLAction{SkewTime: "3"}, ""},
		{adc.SAMLAction{MetadataURL: "https://idp.example.com/md", ArtifactResolutionURL: "https://idp.example.com/ars"}, `-artifactResolutionServiceURL "https://idp.example.com/ars" is not used with -metadataUrl`},
	} {
		opts := devproxy.Options{Environments: []devproxy.Environment{{Name: "dev", SAML: &devproxy.SAMLLogin{Metadata: "md.xml"}}}}
		tc.action.Name = "a"
		w := strings.Join(SAMLActions(&opts, testkit.DemoConfig(t), adc.AuthnBackends{SAML: []adc.SAMLAction{tc.action}}, nil), "\n")
		if tc.want == "" && strings.Contains(w, "skewTime") || !strings.Contains(w, tc.want) {
			t.Errorf("%+v: warnings %q, want %q", tc.action, w, tc.want)
		}
	}
}
