package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// writeADCConfig writes an authdev.yaml with an ns.conf beside it and
// returns the config's path.
func writeADCConfig(t *testing.T, nsconf string) string {
	t.Helper()
	dir := t.TempDir()
	yaml := `personas:
  alice: {email: alice@example.com, groups: [eng-admins]}
  bob: {email: bob@example.com, groups: [eng]}
environments:
  dev: {roles: {eng-admins: [admin], eng: [reader]}}
proxy:
  adc_config: ns.conf
`
	if err := os.WriteFile(filepath.Join(dir, "authdev.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ns.conf"), []byte(nsconf), 0o600); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "authdev.yaml")
}

const explainNSConf = `enable ns feature LB AAA RESPONDER REWRITE
add lb vserver app HTTP 10.0.0.1 80
add authorization policy admins_only "HTTP.REQ.URL.PATH.STARTSWITH(\"/admin\") && AAA.USER.IS_MEMBER_OF(\"admin\")" ALLOW
add authorization policy readers_get "HTTP.REQ.METHOD.EQ(GET) && AAA.USER.IS_MEMBER_OF(\"reader\") && HTTP.REQ.URL.PATH.STARTSWITH(\"/admin\").NOT" ALLOW
bind lb vserver app -policyName admins_only -priority 10 -gotoPriorityExpression END -type REQUEST
bind lb vserver app -policyName readers_get -priority 20 -gotoPriorityExpression END -type REQUEST
add responder action go_away respondwith "\"HTTP/1.1 418 I'm a teapot\r\n\r\nno\""
add responder policy teapot "HTTP.REQ.HEADER(\"X-Tea\").EQ(\"earl grey\")" go_away
bind lb vserver app -policyName teapot -priority 5 -gotoPriorityExpression END -type REQUEST
add rewrite action ins_user insert_http_header X-ADC-User AAA.USER.NAME
add rewrite policy ins_user_pol true ins_user
bind lb vserver app -policyName ins_user_pol -priority 100 -gotoPriorityExpression NEXT -type REQUEST
add ns ip 10.0.0.2 255.255.255.0
`

func TestADCExplainNamesEveryPolicyAndTheDecision(t *testing.T) {
	cfg := writeADCConfig(t, explainNSConf)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"an admin is allowed the admin area by its policy",
			[]string{"--as", "alice", "GET", "/admin/users"},
			[]string{"GET /admin/users as alice (AAA.USER.NAME alice@example.com) in dev", "roles: admin",
				"authorization 10 admins_only MATCH ALLOW", "decision: ALLOW by policy admins_only",
				"X-ADC-User: alice@example.com", "X-Remote-Roles: admin"}},
		{"a reader falls through to the ADC's default DENY",
			[]string{"--as", "bob", "GET", "/admin/users"},
			[]string{"admins_only no match ALLOW", "readers_get no match ALLOW",
				"decision: DENY (403) by the default authorization action, from the ADC's default for AAA-TM (ns.conf sets no -defaultAuthorizationAction)"}},
		{"a responder answers before authorization",
			[]string{"--as", "bob", "GET", "/x", "-H", "X-Tea: earl grey"},
			[]string{"responder 5 teapot MATCH go_away", "decision: RESPOND 418 I'm a teapot (policy teapot)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, nil, append([]string{"--config", cfg, "adc", "explain"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(squash(stdout), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}

// A responder that resets /admin at the cs vserver decides before the lb
// vserver the switch picks, whose policies would allow it.
func TestADCExplainEvaluatesTheCSVServerFirst(t *testing.T) {
	cfg := writeADCConfig(t, `add serviceGroup sg HTTP
bind serviceGroup sg 127.0.0.1 8001
add lb vserver lb_app HTTP 0.0.0.0 0
bind lb vserver lb_app sg
add authorization policy everyone true ALLOW
bind lb vserver lb_app -policyName everyone -priority 10
add cs vserver front SSL 10.0.0.1 443
bind cs vserver front -lbvserver lb_app
add responder policy no_admin "HTTP.REQ.URL.PATH.STARTSWITH(\"/admin\")" RESET
bind cs vserver front -policyName no_admin -priority 10 -gotoPriorityExpression END -type REQUEST
add audit messageaction said INFORMATIONAL "\"allowed \" + HTTP.REQ.URL.PATH"
add authorization policy logged "HTTP.REQ.URL.PATH.EQ(\"/x\")" ALLOW -logAction said
bind lb vserver lb_app -policyName logged -priority 5
add cs vserver plain HTTP 10.0.0.1 80
bind cs vserver plain -lbvserver lb_app
`)
	for _, tt := range []struct{ vserver, path, want string }{
		{"", "/admin/users", "decision: RESET: the connection is reset (policy no_admin)\ncontent switching: lb vserver lb_app serves it"},
		{"", "/x", "decision: ALLOW by policy logged\ncontent switching: lb vserver lb_app serves it\naudit message (INFORMATIONAL, policy logged): allowed /x"},
		{"plain", "/admin/users", "decision: ALLOW by policy everyone\ncontent switching: lb vserver lb_app serves it"},
	} {
		code, stdout, stderr := run(t, nil, "--config", cfg, "adc", "explain", "--vserver", tt.vserver, "--as", "alice", "GET", tt.path)
		if code != 0 || !strings.Contains(stdout, tt.want) {
			t.Errorf("GET %s: exit %d, stderr %q, output lacks %q:\n%s", tt.path, code, stderr, tt.want, stdout)
		}
	}
}

func TestADCExplainRejectsBadUsage(t *testing.T) {
	cfg := writeADCConfig(t, explainNSConf)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"without a persona", []string{"GET", "/"}, "--as is required"},
		{"with an unknown persona", []string{"--as", "zed", "GET", "/"}, `unknown persona "zed": use one of alice, bob`},
		{"with an unknown environment", []string{"--as", "bob", "--env", "prod", "GET", "/"}, `unknown environment "prod": use one of dev`},
		{"with a lower-case method", []string{"--as", "bob", "get", "/"}, `method "get" must be upper-case`},
		{"with a relative path", []string{"--as", "bob", "GET", "admin"}, `path "admin" must start with /`},
		{"with a header lacking a colon", []string{"--as", "bob", "GET", "/", "-H", "X-Tea"}, `header "X-Tea" must be 'Name: value'`},
		{"with one argument, the path is missing", []string{"--as", "bob", "GET"}, "the path is missing: expected METHOD PATH, such as GET /admin/users"},
		{"without arguments", []string{"--as", "bob"}, "expected METHOD PATH, such as GET /admin/users"},
		{"with a --vserver the ns.conf lacks", []string{"--as", "bob", "--vserver", "front", "GET", "/"}, `--vserver "front": the ns.conf has no cs vserver`},
		{"with a method HTTP does not have", []string{"--as", "alice", "FETCH", "/x"}, `method "FETCH" is not an HTTP method: use one of GET, HEAD`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, nil, append([]string{"--config", cfg, "adc", "explain"}, tt.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, stdout, stderr, tt.want)
			}
		})
	}
}

func TestADCCheckPrintsBindingsActionsAndWarnings(t *testing.T) {
	cfg := writeADCConfig(t, explainNSConf)
	stdout, _ := runExit(t, 0, "--config", cfg, "adc", "check")
	for _, w := range []string{
		"adc_config ns.conf (sets up AAA-TM)",
		"lb vserver app HTTP 10.0.0.1:80 -> the proxy (ns.conf:2)",
		"lb vserver app 5 teapot go_away END",
		"lb vserver app 10 admins_only ALLOW END",
		"lb vserver app 100 ins_user_pol ins_user NEXT true",
		"rewrite ins_user ns.conf:10 insert_http_header X-ADC-User AAA.USER.NAME",
		`ns.conf:13: "add ns ip" is not emulated: networking of the appliance`,
		"ns.conf: 13 command lines: 12 emulated, 1 understood but not emulated (no effect on HTTP decisions), 0 not emulated and able to change a decision",
	} {
		if !strings.Contains(squash(stdout), w) {
			t.Errorf("output lacks %q:\n%s", w, stdout)
		}
	}
	if strings.HasPrefix(stdout, "\n") {
		t.Errorf("the summary starts with a blank line:\n%s", stdout)
	}
}

func TestADCCheckStrictFailsOnDecisionChangingLines(t *testing.T) {
	harmless := explainNSConf
	risky := explainNSConf + "add appfw policy guard true APPFW_BLOCK\n"
	for _, tt := range []struct {
		name   string
		nsconf string
		args   []string
		code   int
	}{
		{"a file that loads passes without --strict", risky, nil, 0},
		{"--strict fails on a decision-changing line", risky, []string{"--strict"}, ExitFailure},
		{"--strict passes when every such line is emulated", harmless, []string{"--strict"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeADCConfig(t, tt.nsconf)
			code, stdout, stderr := run(t, nil, append([]string{"--config", cfg, "adc", "check"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			if tt.nsconf == risky && !strings.Contains(stdout, "NOT EMULATED, able to change a decision (1)\n  ns.conf:14: \"add appfw policy\" is not emulated") {
				t.Errorf("the appfw line is not listed first:\n%s", stdout)
			}
			if tt.code != 0 && !strings.Contains(stderr, "--strict: 1 line able to change a decision is not emulated") {
				t.Errorf("stderr does not say why: %q", stderr)
			}
		})
	}
}

func TestADCCheckWithoutNSConfStartsWithoutABlankLine(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "authdev.yaml")
	if err := os.WriteFile(cfg, []byte("personas:\n  alice: {email: alice@example.com}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, nil, "--config", cfg, "adc", "check")
	if code != 0 || !strings.HasPrefix(stdout, "session\n") {
		t.Fatalf("exit %d, stdout %q, stderr %q: want the summary to start with its first section", code, stdout, stderr)
	}
}

// squash collapses the runs of spaces that align columns, so that tests
// do not depend on column widths.
func squash(s string) string {
	return regexp.MustCompile(` {2,}`).ReplaceAllString(s, " ")
}

func TestConfigValidateExitsTwoOnAnNSConfError(t *testing.T) {
	cfg := writeADCConfig(t, "add authorization policy p1 \"HTTP.REQ.URL.STARTWITH(\\\"/x\\\")\" ALLOW\nadd rewrite policy p2 true no_such_action\n")
	nsconf := filepath.Join(filepath.Dir(cfg), "ns.conf")
	for _, args := range [][]string{{"config", "validate"}, {"adc", "check"}} {
		code, _, stderr := run(t, nil, append([]string{"--config", cfg}, args...)...)
		if code != ExitUsage {
			t.Fatalf("%v: exit %d, want 2: %s", args, code, stderr)
		}
		for _, w := range []string{
			nsconf + `:1:43: authorization policy "p1": HTTP.REQ.URL is text, which has no function "STARTWITH"`,
			"(did you mean STARTSWITH?)",
			"    add authorization policy p1 \"HTTP.REQ.URL.STARTWITH(\\\"/x\\\")\" ALLOW\n" + strings.Repeat(" ", 4+42) + "^",
			nsconf + `:2:28: add rewrite policy: no rewrite action "no_such_action"`,
		} {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, w, stderr)
			}
		}
	}
}

func TestConfigValidateExitsTwoOnAPolicyExpressionError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "authdev.yaml")
	os.WriteFile(p, []byte("personas: {alice: {}}\nproxy:\n  headers:\n    X-User: AAA.USER.NAMES\n  policies:\n    - {name: a, rule: 'HTTP.REQ.URL.EQ(\"/\") ||', action: DENY}\n"), 0o600)
	_, stderr := runExit(t, ExitUsage, "--config", p, "config", "validate")
	for _, w := range []string{
		p + `:4:22: header X-User: AAA.USER has no property "NAMES"`,
		"        X-User: AAA.USER.NAMES\n" + strings.Repeat(" ", 4+21) + "^",
		p + `:6:47: policy "a": expression ends too early`,
	} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}

func TestADCCheckWorksOnTheBuiltInDemo(t *testing.T) {
	t.Chdir(t.TempDir())
	stdout, _ := runExit(t, 0, "adc", "check")
	for _, w := range []string{
		"default authorization: ALLOW, from proxy.default_authorization in (built-in demo)",
		"authdev.yaml - admin-area DENY END HTTP.REQ.URL.PATH.STARTSWITH(\"/admin\") && !AAA.USER.IS_MEMBER_OF(\"admin\")",
		"X-Remote-Roles: AAA.USER.ATTRIBUTE(\"roles\")",
	} {
		if !strings.Contains(squash(stdout), w) {
			t.Errorf("output lacks %q:\n%s", w, stdout)
		}
	}
	if strings.Contains(stdout, "adc_config") || strings.Contains(stdout, "warnings") {
		t.Errorf("the demo has no ns.conf, so no adc_config line or warnings:\n%s", stdout)
	}
}

func TestADCExplainUsesThePersonasGroupsInTheChosenEnvironment(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct {
		env, decision string
	}{
		{"dev", "decision: ALLOW by the default authorization action"},
		{"prod", "decision: DENY (403) by policy admin-area"},
	}
	for _, tt := range tests {
		code, stdout, stderr := run(t, nil, "adc", "explain", "--as", "bob", "--env", tt.env, "GET", "/admin/users")
		if code != 0 || !strings.Contains(stdout, tt.decision) {
			t.Errorf("bob in %s: exit %d, stdout:\n%s\nstderr: %s\nwant %q", tt.env, code, stdout, stderr, tt.decision)
		}
	}
}

func TestADCExplainShowsTheSAMLAttributesItWouldUse(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "authdev.yaml")
	yaml := `
personas:
  alice: {name: Alice Admin, email: alice@example.com, groups: [sg-admins], claims: {department: platform}}
environments:
  prod: {flavor: entra, entra: {group_names: true}, login: saml, roles: {sg-admins: [admin]}}
  dev: {flavor: okta}
proxy:
  policies:
    - name: platform-only
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/platform") && !AAA.USER.ATTRIBUTE("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/department").EQ("platform")
      action: DENY
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, nil, "--config", cfg, "adc", "explain", "--as", "alice", "--env", "prod", "GET", "/platform/x")
	for _, want := range []string{
		`SAML attributes (AAA.USER.ATTRIBUTE("name"))`,
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups = sg-admins",
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/role = admin",
		"decision: ALLOW",
	} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("exit %d, want %q in:\n%s\nstderr: %s", code, want, stdout, stderr)
		}
	}
	// The same persona over OIDC has no such attribute: the policy denies.
	code, stdout, _ = run(t, nil, "--config", cfg, "adc", "explain", "--as", "alice", "--env", "prod", "--via", "oidc", "GET", "/platform/x")
	if code != 0 || strings.Contains(stdout, "SAML attributes") || !strings.Contains(stdout, "DENY (403) by policy platform-only") {
		t.Fatalf("--via oidc: exit %d:\n%s", code, stdout)
	}
	if code, _, stderr := run(t, nil, "--config", cfg, "adc", "explain", "--as", "alice", "--via", "ldap", "GET", "/"); code != ExitUsage || !strings.Contains(stderr, `"ldap"`) {
		t.Fatalf("--via ldap: exit %d: %s", code, stderr)
	}
}

// An ns.conf samlAction's -attribute1..16 give AAA.USER.ATTRIBUTE(n) its
// meaning, as an OAuth action's -Attributes do, and make explain's login
// SAML.
func TestADCExplainNumbersTheSAMLActionsAttributes(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"ns.conf": `add authentication samlAction saml_idp -samlIdPCertName idp -samlRedirectUrl "https://idp.example.com/sso" -attribute1 "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/department"
set tm sessionParameter -defaultAuthorizationAction ALLOW
`,
		"authdev.yaml": `personas:
  alice: {email: alice@example.com, claims: {department: platform}}
  bob: {email: bob@example.com, claims: {department: sales}}
environments:
  prod: {flavor: entra}
proxy:
  adc_config: ns.conf
  policies:
    - name: platform-only
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/platform") && !AAA.USER.ATTRIBUTE(1).EQ("platform")
      action: DENY
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "authdev.yaml")
	for persona, want := range map[string]string{"alice": "decision: ALLOW", "bob": "DENY (403) by policy platform-only"} {
		code, stdout, stderr := run(t, nil, "--config", cfg, "adc", "explain", "--as", persona, "GET", "/platform/x")
		if code != 0 || !strings.Contains(stdout, want) || !strings.Contains(stdout, "SAML attributes") {
			t.Errorf("%s: exit %d, want %q and the SAML attributes in:\n%s\nstderr: %s", persona, code, want, stdout, stderr)
		}
	}
}

// A SAML login's groups are those of its samlAction's -groupNameField
// attribute and its -defaultAuthenticationGroup (the NITRO reference:
// https://developer-docs.netscaler.com/en-us/adc-nitro-api/13/configuration/authentication/authenticationsamlaction),
// as the proxy has them: adc explain shows them and decides
// AAA.USER.IS_MEMBER_OF by them, not by the IdP's groups attribute.
func TestADCExplainGivesTheSAMLActionsGroups(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"ns.conf": `add authentication samlAction saml_idp -groupNameField team -defaultAuthenticationGroup saml_users
set tm sessionParameter -defaultAuthorizationAction ALLOW
`,
		"authdev.yaml": `personas:
  alice: {email: alice@example.com, groups: [engineering], claims: {team: [payments, search]}}
environments:
  dev: {flavor: okta}
proxy:
  adc_config: ns.conf
  policies:
    - name: payments-only
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/pay") && !AAA.USER.IS_MEMBER_OF("payments")
      action: DENY
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := run(t, nil, "--config", filepath.Join(dir, "authdev.yaml"), "adc", "explain", "--as", "alice", "GET", "/pay/x")
	if code != 0 || !strings.Contains(stdout, "groups: payments, search, saml_users\n") || !strings.Contains(stdout, "decision: ALLOW") {
		t.Errorf("exit %d, want groups payments, search, saml_users and ALLOW in:\n%s\nstderr: %s", code, stdout, stderr)
	}
}

// adc explain says which samlAction a browser login making the request
// would use, and why: the policies of the ns.conf's nFactor flow (the
// authentication vserver of the lb vserver, then -nextFactor labels),
// first true by priority; a flow that reaches no samlAction is no SAML
// login:
// https://docs.netscaler.com/en-us/citrix-adc/13/aaa-tm/authentication-methods/multi-factor-nfactor-authentication/nfactor-terminology.html
func TestADCExplainSaysWhichSAMLActionALoginUses(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"ns.conf": `add authentication samlAction saml_api -samlUserField name -samlBinding REDIRECT
add authentication samlAction saml_web -samlBinding POST
add authentication ldapAction ldap_1 -serverIP 10.0.0.5 -ldapBase "dc=example,dc=com"
add authentication Policy p_api -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/api/\")" -action saml_api
add authentication Policy p_ldap -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/legacy/\")" -action ldap_1
add authentication Policy p_web -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/app\")" -action saml_web
add authentication policylabel web
bind authentication policylabel web -policyName p_web -priority 10 -gotoPriorityExpression END
add authentication Policy p_decide -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/legacy/\").NOT" -action NO_AUTHN
add authentication vserver aaa SSL 0.0.0.0 0
bind authentication vserver aaa -policy p_api -priority 10 -gotoPriorityExpression NEXT
bind authentication vserver aaa -policy p_ldap -priority 20 -gotoPriorityExpression NEXT
bind authentication vserver aaa -policy p_decide -priority 30 -nextFactor web -gotoPriorityExpression NEXT
add lb vserver app HTTP 0.0.0.0 0 -Authentication ON -authnVsName aaa
set tm sessionParameter -defaultAuthorizationAction ALLOW
`,
		"authdev.yaml": `personas:
  alice: {name: Alice Admin, email: alice@example.com}
environments:
  dev: {flavor: okta}
proxy:
  adc_config: ns.conf
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "authdev.yaml")
	for _, tc := range []struct{ path, want, why string }{
		{"/api/x", "login: SAML, samlAction saml_api (ns.conf:1)", `authentication vserver aaa: policy p_api (priority 10, rule HTTP.REQ.URL.PATH.STARTSWITH("/api/")) is true: samlAction saml_api`},
		{"/app", "login: SAML, samlAction saml_web (ns.conf:2)", `policylabel web: policy p_web (priority 10, rule HTTP.REQ.URL.PATH.STARTSWITH("/app")) is true: samlAction saml_web`},
		{"/other", "login: refused, as the ADC refuses it", "policylabel web: no policy is true: the ADC refuses this login"},
		{"/legacy/x", "login: OIDC (the ns.conf's login flow reaches no samlAction)", "is true: ldapAction ldap_1, not emulated: the persona's login stands for it"},
	} {
		code, stdout, stderr := run(t, nil, "--config", cfg, "adc", "explain", "--as", "alice", "GET", tc.path)
		if code != 0 || !strings.Contains(stdout, tc.want) || !strings.Contains(stdout, tc.why) {
			t.Errorf("GET %s: exit %d, want %q and %q in:\n%s\nstderr: %s", tc.path, code, tc.want, tc.why, stdout, stderr)
		}
	}
	// --via oidc is an OIDC login, whatever the flow would pick.
	if _, stdout, _ := run(t, nil, "--config", cfg, "adc", "explain", "--as", "alice", "--via", "oidc", "GET", "/api/x"); !strings.Contains(stdout, "login: OIDC (--via), though the ns.conf's login flow picks samlAction saml_api") || strings.Contains(stdout, "SAML attributes") {
		t.Errorf("--via oidc:\n%s", stdout)
	}
	// -samlUserField names AAA.USER.NAME after a SAML login, each
	// samlAction's own: saml_web names none, so the NameID (the email) does.
	for path, want := range map[string]string{"/api/x": "(AAA.USER.NAME Alice Admin)", "/app": "(AAA.USER.NAME alice@example.com)"} {
		if _, stdout, _ := run(t, nil, "--config", cfg, "adc", "explain", "--as", "alice", "GET", path); !strings.Contains(stdout, want) {
			t.Errorf("after the login at %s AAA.USER.NAME is not %s, its samlAction's:\n%s", path, want, stdout)
		}
	}
	code, stdout, _ := run(t, nil, "--config", cfg, "adc", "check")
	for _, want := range []string{"login flow", "authentication vserver aaa", "  20 p_ldap: HTTP.REQ.URL.PATH.STARTSWITH(\"/legacy/\") -> ldapAction ldap_1 (not emulated: the persona's login stands for it)", "-> NO_AUTHN, then policylabel web"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("adc check: exit %d, want %q in:\n%s", code, want, stdout)
		}
	}
}

// With several authentication vservers, adc explain says which one a login
// goes to and why: the lb vserver the cs vserver's policies pick names it
// (-authnVsName, or an authnProfile), as the traffic management vserver
// sends logins to its authentication vserver:
// https://docs.netscaler.com/en-us/citrix-adc/13-1/aaa-tm/entities-of-authentication-authorization-auditing/authentication-virtual-server
// The user it shows is the one that samlAction's login makes.
func TestADCExplainSaysWhichAuthenticationVServerALoginGoesTo(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"ns.conf": `add authentication samlAction saml_api -samlUserField name -samlBinding REDIRECT -Attribute1 department
add authentication samlAction saml_web -samlBinding REDIRECT -Attribute1 team
add authentication Policy pol_api -rule true -action saml_api
add authentication Policy pol_web -rule true -action saml_web
add authentication vserver aaa_api SSL 0.0.0.0 0
bind authentication vserver aaa_api -policy pol_api -priority 100
add authentication vserver aaa_web SSL 0.0.0.0 0
bind authentication vserver aaa_web -policy pol_web -priority 100
add authentication authnProfile prof_web -authnVsName aaa_web
add lb vserver lb_api HTTP 0.0.0.0 0 -Authentication ON -authnVsName aaa_api
add lb vserver lb_web HTTP 0.0.0.0 0 -Authentication ON -authnProfile prof_web
add cs vserver cs_front SSL 10.0.0.1 443
add cs policy cs_pol_api -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/api/\")"
bind cs vserver cs_front -policyName cs_pol_api -targetLBVserver lb_api -priority 10
bind cs vserver cs_front -lbvserver lb_web
set tm sessionParameter -defaultAuthorizationAction ALLOW
`,
		"authdev.yaml": `personas:
  alice: {name: Alice Admin, email: alice@example.com, claims: {department: platform, team: core}}
environments:
  dev: {flavor: okta}
proxy:
  adc_config: ns.conf
  policies:
    - name: no-core
      rule: AAA.USER.ATTRIBUTE(1).EQ("core")
      action: DENY
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "authdev.yaml")
	// ATTRIBUTE(1) is saml_api's department, saml_web's team.
	for _, tc := range []struct{ path, action, why, user, decision string }{
		{"/api/x", "samlAction saml_api", "cs vserver cs_front sends the request to lb vserver lb_api (cs policy cs_pol_api is true), which names authentication vserver aaa_api (-authnVsName)", "(AAA.USER.NAME Alice Admin)", "decision: ALLOW"},
		{"/web", "samlAction saml_web", "cs vserver cs_front sends the request to lb vserver lb_web (no cs policy is true: its -lbvserver), which names authentication vserver aaa_web (-authnProfile prof_web)", "(AAA.USER.NAME alice@example.com)", "DENY (403) by policy no-core"},
	} {
		code, stdout, stderr := run(t, nil, "--config", cfg, "adc", "explain", "--as", "alice", "GET", tc.path)
		for _, want := range []string{"login: SAML, " + tc.action, tc.why, tc.user, tc.decision} {
			if code != 0 || !strings.Contains(stdout, want) {
				t.Errorf("GET %s: exit %d, want %q in:\n%s\nstderr: %s", tc.path, code, want, stdout, stderr)
			}
		}
	}
}
