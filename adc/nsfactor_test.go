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
	ch := flow.SAML(r)
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
