package adc

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// samlChoiceOf is the samlAction a login to host and path reaches ("" for
// none) and the steps that led there.
func samlChoiceOf(t *testing.T, e *Engine, host, path string) (string, string) {
	t.Helper()
	flow := e.Settings().Authn.Flow
	if flow == nil {
		t.Fatal("the ns.conf has no login flow")
	}
	r := httptest.NewRequest("GET", "http://"+host+path, nil)
	ch := flow.SAML(&Request{HTTP: r})
	name := ""
	if ch.Action != nil {
		name = ch.Action.Name
	}
	return name, strings.Join(ch.Steps, "\n")
}

// Three samlActions, each behind an authentication policy on the Host
// header, bound to the authentication vserver the lb vserver names
// (-authentication ON -authnVsName): the login uses the samlAction of the
// first true policy by priority. The ns.conf is flipper's samlAuth.ns.conf
// (Apache-2.0, testdata/corpus/SOURCES.md); the ADC's nFactor rules:
// https://docs.netscaler.com/en-us/citrix-adc/13/aaa-tm/authentication-methods/multi-factor-nfactor-authentication/nfactor-terminology.html
func TestALoginUsesTheSAMLActionOfTheFirstTruePolicy(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "corpus", "flipper", "samlAuth.ns.conf"))
	if err != nil {
		t.Fatal(err)
	}
	e := compileNSConf(t, string(raw))
	for _, tc := range []struct{ host, want, step string }{
		{"okta.example.com", "saml_act_okta", "policy pol_saml_okta (priority 100"},
		{"azure.example.com", "saml_act_azure", "policy pol_saml_okta (priority 100, rule HTTP.REQ.HEADER(\"Host\").EQ(\"okta.example.com\")) is false"},
		{"app.example.com", "saml_act_adfs", "policy pol_saml_adfs (priority 1000, rule true) is true: samlAction saml_act_adfs"},
	} {
		got, steps := samlChoiceOf(t, e, tc.host, "/")
		if got != tc.want || !strings.Contains(steps, tc.step) || !strings.Contains(steps, "authentication vserver auth_vs_saml") {
			t.Errorf("a login at %s uses %q, want %q; steps:\n%s", tc.host, got, tc.want, steps)
		}
	}
}

// An nFactor chain: a NO_AUTHN decision on the URL at the authentication
// vserver goes on (-nextFactor) to a policy label whose samlActions are
// picked by host; an LDAP first factor goes on to a label with a
// samlAction, which authdev cannot put after LDAP: a warning names both
// with file:line, and the login reaching it is SAML at once.
func TestTheNFactorChainLeadsALoginToItsSAMLAction(t *testing.T) {
	e := compileNSConf(t, `add authentication samlAction saml_a -samlBinding REDIRECT
add authentication samlAction saml_b -samlBinding POST
add authentication samlAction saml_after_ldap
add authentication ldapAction ldap_1 -serverIP 10.0.0.5 -ldapBase "dc=example,dc=com"
add authentication loginSchema ls_none -authenticationSchema noschema
add authentication Policy p_api -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/api/\")" -action NO_AUTHN
add authentication Policy p_ldap -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/legacy/\")" -action ldap_1
add authentication Policy p_a -rule "HTTP.REQ.HOSTNAME.EQ(\"a.example.com\")" -action saml_a
add authentication Policy p_b -rule true -action saml_b
add authentication Policy p_late -rule true -action saml_after_ldap
add authentication policylabel by_host -loginSchema ls_none
bind authentication policylabel by_host -policyName p_b -priority 20 -gotoPriorityExpression NEXT
bind authentication policylabel by_host -policyName p_a -priority 10 -gotoPriorityExpression NEXT
add authentication policylabel after_ldap -loginSchema ls_none
bind authentication policylabel after_ldap -policyName p_late -priority 10 -gotoPriorityExpression END
add authentication vserver aaa SSL 0.0.0.0 0
bind authentication vserver aaa -policy p_ldap -priority 5 -nextFactor after_ldap -gotoPriorityExpression NEXT
bind authentication vserver aaa -policy p_api -priority 10 -nextFactor by_host -gotoPriorityExpression NEXT
add lb vserver app HTTP 0.0.0.0 0 -Authentication ON -AuthenticationHost aaa.example.com -authnVsName aaa
`)
	for _, tc := range []struct{ host, path, want, step string }{
		{"a.example.com", "/api/x", "saml_a", "policylabel by_host: policy p_a (priority 10, rule HTTP.REQ.HOSTNAME.EQ(\"a.example.com\")) is true: samlAction saml_a"},
		{"b.example.com", "/api/x", "saml_b", "authentication vserver aaa: policy p_api (priority 10, rule HTTP.REQ.URL.PATH.STARTSWITH(\"/api/\")) is true: NO_AUTHN"},
		{"a.example.com", "/other", "", "authentication vserver aaa: no policy is true: the ADC refuses this login"},
		{"a.example.com", "/legacy/x", "saml_after_ldap", "is true: ldapAction ldap_1, not emulated: the persona's login stands for it"},
	} {
		got, steps := samlChoiceOf(t, e, tc.host, tc.path)
		if got != tc.want || !strings.Contains(steps, tc.step) {
			t.Errorf("a login at %s%s uses %q, want %q (step %q); steps:\n%s", tc.host, tc.path, got, tc.want, tc.step, steps)
		}
	}
	w := warningsOf(e)[10]
	for _, want := range []string{`samlAction "saml_after_ldap" (ns.conf:3) is reached, through policylabel after_ldap, only after ldapAction "ldap_1" (ns.conf:4), policy p_ldap (ns.conf:7)`, "decision: "} {
		if !strings.Contains(w, want) {
			t.Errorf("the warning at line 10 lacks %q:\n%s", want, w)
		}
	}
	for line, msg := range warningsOf(e) {
		if line != 10 && strings.Contains(msg, "saml_") {
			t.Errorf("a warning at line %d about a samlAction the flow reaches first: %s", line, msg)
		}
	}
}

// The authentication vserver of browser logins is the one the lb (or cs)
// vserver names with -authnVsName, also when a later `set lb vserver` adds
// it, or through an authnProfile's -authnVsName; another authentication vserver
// with policies is not the login's. An lb vserver naming an authnProfile
// that does not exist is refused, as by the appliance:
// https://docs.citrix.com/en-us/citrix-adc/current-release/aaa-tm/entities-of-authentication-authorization-auditing/authentication-profiles.html
func TestTheLoginFlowStartsAtTheLBVServersAuthenticationVServer(t *testing.T) {
	const actions = `add authentication samlAction saml_right
add authentication samlAction saml_wrong
add authentication Policy p_right -rule true -action saml_right
add authentication Policy p_wrong -rule true -action saml_wrong
add authentication vserver other SSL 0.0.0.0 0
bind authentication vserver other -policy p_wrong -priority 1
add authentication vserver aaa SSL 0.0.0.0 0
bind authentication vserver aaa -policy p_right -priority 1
`
	for name, lb := range map[string]string{
		"set lb vserver": "add lb vserver app HTTP 0.0.0.0 0\nset lb vserver app -Authentication ON -AuthenticationHost aaa.example.com -authnVsName aaa\n",
		"authnProfile":   "add authentication authnProfile prof -authnVsName aaa -AuthenticationHost aaa.example.com\nadd lb vserver app HTTP 0.0.0.0 0 -Authentication ON -authnProfile prof\n",
		"cs vserver":     "add cs vserver front SSL 0.0.0.0 0 -Authentication ON -AuthenticationHost aaa.example.com -authnVsName aaa\n",
	} {
		e := compileNSConf(t, actions+lb)
		if got, steps := samlChoiceOf(t, e, "app.example.com", "/"); got != "saml_right" {
			t.Errorf("%s: the login uses %q, want saml_right (authentication vserver aaa); steps:\n%s", name, got, steps)
		}
		for line, w := range warningsOf(e) {
			if strings.Contains(w, "authn") || strings.Contains(w, "Authentication") {
				t.Errorf("%s: warning at line %d: %s", name, line, w)
			}
		}
	}
	_, err := compileNSConfErr(t, actions+"add lb vserver app HTTP 0.0.0.0 0 -Authentication ON -authnProfile nope\n", "")
	if err == nil || !strings.Contains(err.Error(), `no authnProfile "nope"`) || !strings.Contains(err.Error(), "ns.conf:9:") {
		t.Errorf("an unknown authnProfile: %v", err)
	}
	// A -authnVsName naming no `add authentication vserver` is named where
	// it is written, not followed silently elsewhere.
	e := compileNSConf(t, actions+"add lb vserver app HTTP 0.0.0.0 0 -Authentication ON -authnVsName aaa_typo\n")
	if w := warningsOf(e)[9]; !strings.Contains(w, `vserver app sends browser logins to authentication vserver "aaa_typo" (-authnVsName), which the ns.conf does not add`) {
		t.Errorf("a -authnVsName naming no authentication vserver: line 9 warns %q; all: %v", w, warningsOf(e))
	}
}

// A -nextFactor that names no policy label is refused, with its place.
func TestANextFactorWithoutItsPolicyLabelIsAnError(t *testing.T) {
	_, err := compileNSConfErr(t, `add authentication samlAction saml_a
add authentication Policy p -rule true -action saml_a
add authentication vserver aaa SSL 0.0.0.0 0
bind authentication vserver aaa -policy p -priority 1 -nextFactor second
add authentication policylabel third
bind authentication policylabel third -policyName p -priority 1 -nextFactor fourth
`, "")
	for _, want := range []string{`ns.conf:4:67: bind authentication vserver: -nextFactor "second": no policy label "second"`, `ns.conf:6:77: bind authentication policylabel: -nextFactor "fourth"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	// Also in a flow no lb vserver reaches.
	_, err = compileNSConfErr(t, `add authentication samlAction saml_a
add authentication Policy p -rule true -action saml_a
add authentication policylabel third
bind authentication policylabel third -policyName p -priority 1 -nextFactor fourth
`, "")
	if err == nil || !strings.Contains(err.Error(), `ns.conf:4:77: bind authentication policylabel: -nextFactor "fourth"`) {
		t.Errorf("without an authentication vserver: %v", err)
	}
}

// AAA.USER.ATTRIBUTE(n) numbers the -Attribute1..16 of the samlAction that
// logged the user in, each samlAction its own, as the command reference
// gives every samlAction its own -samlUserField and -Attribute1..16:
// https://docs.citrix.com/ko-kr/netscaler/11-1/reference/netscaler-command-reference/authentication/authentication-samlaction.html
// A user no samlAction logged in has the first samlAction's; a number
// only some samlAction lists is empty for the others; a number none lists
// is an error, as before.
func TestAAAUserAttributeNumbersThoseOfTheUsersSAMLAction(t *testing.T) {
	e := compileNSConf(t, `add authentication samlAction saml_okta -Attribute1 department
add authentication samlAction saml_azure -Attribute1 http://schemas.microsoft.com/identity/claims/tenantid -Attribute2 department
set tm sessionParameter -defaultAuthorizationAction ALLOW
add rewrite action ins insert_http_header X-Attrs "AAA.USER.ATTRIBUTE(1) + \"|\" + AAA.USER.ATTRIBUTE(2)"
add rewrite policy p_ins true ins
bind rewrite global p_ins 10 END
`)
	if w := warningsOf(e)[2]; w != "" {
		t.Errorf("a warning about saml_azure's attributes: %s", w)
	}
	user := func(action string) *User {
		return &User{Name: "alice@example.com", SAMLAction: action, Attributes: map[string]any{
			"department": "platform", "http://schemas.microsoft.com/identity/claims/tenantid": "tenant-1"}}
	}
	for _, tc := range []struct{ action, want string }{
		{"saml_okta", "platform|"},
		{"saml_azure", "tenant-1|platform"},
		{"", "platform|"},
	} {
		var res Result
		e.Evaluate(newRequest("GET", "/", user(tc.action)), &res)
		got := ""
		for _, h := range res.Headers {
			if h.Name == "X-Attrs" {
				got = h.Value
			}
		}
		if got != tc.want {
			t.Errorf("a user logged in by %q has ATTRIBUTE(1)|ATTRIBUTE(2) %q, want %q", tc.action, got, tc.want)
		}
	}
	_, err := compileNSConfErr(t, `add authentication samlAction saml_okta -Attribute1 department
add authentication samlAction saml_azure -Attribute1 a -Attribute2 b
add rewrite action ins insert_http_header X-A "AAA.USER.ATTRIBUTE(3)"
add rewrite policy p_ins true ins
bind rewrite global p_ins 10 END
`, "")
	if err == nil || !strings.Contains(err.Error(), "ATTRIBUTE(3) needs at least 3 names") || !strings.Contains(err.Error(), "the most any lists is 2") {
		t.Errorf("ATTRIBUTE(3) with at most two names: %v", err)
	}
}

// Several authentication vservers: the login goes to the one the vserver
// it reaches names. Behind a cs vserver, its cs policies pick the lb
// vserver, whose -authnVsName (or authnProfile) names the authentication
// vserver, whose policies pick the samlAction; a cs vserver that names an
// authentication vserver itself sends every login there. Without cs
// vservers, the lb vserver is the request's upstream:
// https://docs.netscaler.com/en-us/citrix-adc/13-1/aaa-tm/entities-of-authentication-authorization-auditing/authentication-virtual-server
// https://docs.citrix.com/en-us/citrix-adc/current-release/aaa-tm/entities-of-authentication-authorization-auditing/authentication-profiles.html
func TestEachVServerLeadsLoginsToItsOwnAuthenticationVServer(t *testing.T) {
	const aaa = `add authentication samlAction saml_api
add authentication samlAction saml_web
add authentication Policy p_api -rule true -action saml_api
add authentication Policy p_web -rule true -action saml_web
add authentication vserver aaa_api SSL 0.0.0.0 0
bind authentication vserver aaa_api -policy p_api -priority 10
add authentication vserver aaa_web SSL 0.0.0.0 0
bind authentication vserver aaa_web -policy p_web -priority 10
add authentication authnProfile prof_web -authnVsName aaa_web
add lb vserver lb_api HTTP 0.0.0.0 0 -Authentication ON -authnVsName aaa_api
add lb vserver lb_web HTTP 0.0.0.0 0 -Authentication ON -authnProfile prof_web
`
	const cs = `add cs vserver cs_front SSL 10.0.0.1 443
add cs policy cs_api -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/api/\")"
bind cs vserver cs_front -policyName cs_api -targetLBVserver lb_api -priority 10
bind cs vserver cs_front -lbvserver lb_web
`
	choice := func(e *Engine, path, upstream string) (string, string) {
		ch := e.Settings().Authn.Flow.SAML(&Request{HTTP: httptest.NewRequest("GET", "http://app.example.com"+path, nil), Upstream: upstream})
		if ch.Action == nil {
			return "", strings.Join(ch.Steps, "\n")
		}
		return ch.Action.Name, strings.Join(ch.Steps, "\n")
	}
	e := compileNSConf(t, aaa+cs)
	for line, w := range warningsOf(e) {
		if strings.Contains(w, "authentication vserver") {
			t.Errorf("a warning at line %d about the authentication vservers: %s", line, w)
		}
	}
	for _, tc := range []struct{ path, want, why string }{
		{"/api/x", "saml_api", "cs vserver cs_front sends the request to lb vserver lb_api (cs policy cs_api is true), which names authentication vserver aaa_api (-authnVsName)"},
		{"/web", "saml_web", "cs vserver cs_front sends the request to lb vserver lb_web (no cs policy is true: its -lbvserver), which names authentication vserver aaa_web (-authnProfile prof_web)"},
	} {
		if got, steps := choice(e, tc.path, ""); got != tc.want || !strings.Contains(steps, tc.why) {
			t.Errorf("behind cs_front a login at %s uses %q, want %q (%q); steps:\n%s", tc.path, got, tc.want, tc.why, steps)
		}
	}
	check := strings.Join(e.Settings().Authn.Flow.Describe(), "\n")
	for _, want := range []string{"lb vserver lb_api -> authentication vserver aaa_api (-authnVsName)", "lb vserver lb_web -> authentication vserver aaa_web (-authnProfile prof_web)", "authentication vserver aaa_web\n  10 p_web: true -> samlAction saml_web"} {
		if !strings.Contains(check, want) {
			t.Errorf("the flow's description lacks %q:\n%s", want, check)
		}
	}

	e = compileNSConf(t, aaa+strings.Replace(cs, "10.0.0.1 443", "10.0.0.1 443 -Authentication ON -authnVsName aaa_web", 1))
	if got, steps := choice(e, "/api/x", ""); got != "saml_web" || !strings.Contains(steps, "cs vserver cs_front names authentication vserver aaa_web (-authnVsName)") {
		t.Errorf("with cs_front naming aaa_web a login at /api/x uses %q; steps:\n%s", got, steps)
	}

	e = compileNSConf(t, aaa)
	for _, tc := range []struct{ upstream, want, why string }{
		{"lb_api", "saml_api", "the request's upstream is lb vserver lb_api, which names authentication vserver aaa_api"},
		{"lb_web", "saml_web", "the request's upstream is lb vserver lb_web, which names authentication vserver aaa_web"},
		{"", "saml_api", "the request reaches no vserver that names an authentication vserver: the login goes to authentication vserver aaa_api, the first authentication vserver a vserver names"},
	} {
		if got, steps := choice(e, "/x", tc.upstream); got != tc.want || !strings.Contains(steps, tc.why) {
			t.Errorf("a login for upstream %q uses %q, want %q (%q); steps:\n%s", tc.upstream, got, tc.want, tc.why, steps)
		}
	}
}

// The samlAction options the NITRO reference gives and authdev emulates
// are read, each samlAction its own:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction
// (-groupNameField "Name of the tag in assertion that contains user
// groups", -defaultAuthenticationGroup "the default group that is chosen
// when the authentication succeeds in addition to extracted groups",
// -metadataUrl, -artifactResolutionServiceURL, -forceAuthn, -skewTime in
// minutes, -audience); every other option is named, not silently kept.
func TestSAMLActionOptionsAreReadAndTheOthersNamed(t *testing.T) {
	e := compileNSConf(t, `add authentication samlAction saml_entra -metadataUrl "https://login.microsoftonline.com/t/federationmetadata/2007-06/federationmetadata.xml" -groupNameField "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups" -defaultAuthenticationGroup saml_users -forceAuthn ON -skewTime 10 -audience "https://app.example.com" -samlRejectUnsignedAssertion strict -samlACSIndex 0 -sendThumbprint ON -storeSAMLResponse ON
add authentication samlAction saml_adfs -samlRedirectUrl "https://adfs.example.com/adfs/ls" -samlIdPCertName adfs -artifactResolutionServiceURL "https://adfs.example.com/adfs/services/trust/artifactresolution" -samlBinding ARTIFACT -forceAuthn OFF
`)
	got := e.Settings().Authn.SAML
	if len(got) != 2 {
		t.Fatalf("samlActions %+v", got)
	}
	entra, adfs := got[0], got[1]
	if entra.MetadataURL != "https://login.microsoftonline.com/t/federationmetadata/2007-06/federationmetadata.xml" || entra.GroupNameField != "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups" ||
		entra.DefaultGroup != "saml_users" || !entra.ForceAuthn || entra.SkewTime != "10" || entra.Audience != "https://app.example.com" || entra.RejectUnsigned != "STRICT" {
		t.Errorf("saml_entra read as %+v", entra)
	}
	if adfs.ArtifactResolutionURL != "https://adfs.example.com/adfs/services/trust/artifactresolution" || adfs.ForceAuthn || adfs.SkewTime != "" || adfs.GroupNameField != "" || adfs.RejectUnsigned != "ON" {
		t.Errorf("saml_adfs read as %+v", adfs)
	}
	w := warningsOf(e)
	if want := "none: add authentication samlAction: options -samlACSIndex, -sendThumbprint, -storeSAMLResponse are not emulated: ignored|"; w[1] != want {
		t.Errorf("line 1 warns %q, want %q", w[1], want)
	}
	if w[2] != "" {
		t.Errorf("line 2, every option emulated, warns %q", w[2])
	}
}

// A samlAction option whose value the ADC refuses fails where it is
// written, saying what it takes.
func TestSAMLActionOptionValuesTheADCRefusesAreErrors(t *testing.T) {
	for _, tc := range []struct{ opt, want string }{
		{`-forceAuthn MAYBE`, `ns.conf:1:38: add authentication samlAction: -forceAuthn takes ON or OFF, not "MAYBE"`},
		{`-skewTime soon`, `ns.conf:1:38: add authentication samlAction: -skewTime "soon" is not a number of minutes`},
		{`-metadataUrl idp.xml`, `ns.conf:1:38: add authentication samlAction: -metadataUrl "idp.xml" is not an http(s) URL`},
		{`-signatureAlg RSA-SHA512`, `ns.conf:1:38: add authentication samlAction: -signatureAlg "RSA-SHA512": use RSA-SHA256 or RSA-SHA1`},
		{`-digestMethod MD5`, `ns.conf:1:38: add authentication samlAction: -digestMethod "MD5": use SHA256 or SHA1`},
		{`-samlRejectUnsignedAssertion MAYBE`, `ns.conf:1:38: add authentication samlAction: -samlRejectUnsignedAssertion "MAYBE": use ON or STRICT`},
	} {
		_, err := compileNSConfErr(t, "add authentication samlAction saml_a "+tc.opt+"\n", "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.opt, err, tc.want)
		}
	}
}
