package adc

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// warningsOf maps line numbers to "effect: message" for assertions.
func warningsOf(e *Engine) map[int]string {
	got := map[int]string{}
	for _, w := range e.Warnings() {
		tag := "none"
		if w.Effect == EffectDecision {
			tag = "decision"
		}
		got[w.Pos.Line] += tag + ": " + w.Msg + "|"
	}
	return got
}

// The lines that made unedited appliance saves fail to load: each is a
// line the appliance accepts, so it must load, as a warning that says
// whether it can change a decision.
func TestKnownBreakersLoadAsWarnings(t *testing.T) {
	e := compileNSConf(t, `add serviceGroup sg HTTP
bind serviceGroup sg 127.0.0.1 8080
bind serviceGroup sg -monitorName http
bind serviceGroup sg -monitorName ping
add lb vserver web HTTP 10.0.0.1 80 -redirectFromPort 80 -httpsRedirectUrl "https://web.example.com"
bind lb vserver web sg
add lb vserver ldaps TCP 10.0.0.2 636
add serviceGroup ldaps_sg TCP
bind serviceGroup ldaps_sg 10.1.1.1 636
bind lb vserver ldaps ldaps_sg
add service dns_svc 10.1.1.2 DNS 53
add rewrite action ins insert_http_header X-A "\"a\""
add rewrite policy rw_p true ins NOREWRITE
add responder policy rs_p "HTTP.REQ.URL.PATH.EQ(\"/gone\")" RESET NOOP
bind lb vserver web -policyName rw_p -priority 10 -gotoPriorityExpression NEXT -type REQUEST
bind lb vserver web -policyName rs_p -priority 20 -gotoPriorityExpression END -type REQUEST
add cmp policy cmp_text -rule "HTTP.RES.HEADER(\"Content-Type\").CONTAINS(\"text\")" -resAction COMPRESS
bind lb vserver web -policyName cmp_text -priority 100 -gotoPriorityExpression END -type RESPONSE
bind lb vserver web -policyName ns_cmp_msapp -priority 200
add authentication vserver av SSL 10.0.0.3 443
bind authentication vserver av -portaltheme RfWebUI
set tm sessionParameter -sessTimeout 20 -defaultAuthorizationAction ALLOW
bind tm global -policyName SETTMSESSPARAMS_ADV_POL -priority 65534 -gotoPriorityExpression NEXT
`)
	got := warningsOf(e)
	want := map[int]string{
		4:  `none: monitor "ping" is a PING monitor`,
		5:  `decision: add lb vserver: options -redirectFromPort, -httpsRedirectUrl are not emulated: ignored|`,
		7:  `none: lb vserver "ldaps": protocol TCP is not emulated`,
		8:  `none: serviceGroup "ldaps_sg": protocol TCP is not emulated`,
		9:  `none: bind serviceGroup: serviceGroup TCP "ldaps_sg" is not emulated`,
		10: `none: bind lb vserver: lb vserver TCP "ldaps" is not emulated`,
		11: `none: service "dns_svc": protocol DNS is not emulated`,
		17: `none: "add cmp policy" is not emulated: compression`,
		18: `none: bind lb vserver: cmp policy "cmp_text" is not emulated|`,
		19: `none: bind lb vserver: built-in policy "ns_cmp_msapp" is not emulated|`,
		21: `none: bind authentication vserver: the login page is authdev's persona picker|`,
	}
	for line, w := range want {
		if !strings.Contains(got[line], w) {
			t.Errorf("line %d: warnings %q, want %q", line, got[line], w)
		}
	}
	for _, line := range []int{1, 2, 3, 6, 12, 13, 14, 15, 16, 20, 22, 23} {
		if got[line] != "" {
			t.Errorf("line %d is emulated, but warns %q", line, got[line])
		}
	}
	if st := e.Settings(); st.SessionTimeout != 20*time.Minute || st.DefaultAuthorization != "ALLOW" {
		t.Errorf("set tm sessionParameter is not applied: %+v", st)
	}
	if l := e.Lines(); l.Total != 23 || l.Decision != 1 || l.Understood != 10 || l.Emulated != 12 {
		t.Errorf("line counts %+v, want 23 lines: 12 emulated, 10 understood, 1 able to change a decision", l)
	}
	var res Result
	e.Evaluate(newRequest("GET", "/gone", reader), &res)
	if res.Response == nil || !res.Response.Reset {
		t.Errorf("the responder with a 4th positional UNDEF action no longer resets /gone: %+v", res)
	}
}

// A line the ADC itself refuses stays an error, with file:line.
func TestLinesTheADCRefusesAreErrors(t *testing.T) {
	tests := []struct{ name, nsconf, want string }{
		{"a responder action of a type that does not exist", "add responder action a DROP\n", "ns.conf:1:24: add responder action: DROP is not a type of responder action"},
		{"a bind to a vserver that does not exist", "bind lb vserver nope sg\n", `ns.conf:1:17: bind lb vserver: no lb vserver "nope"`},
		{"a bind to a policy that does not exist", "add lb vserver v HTTP\nbind lb vserver v -policyName nope -priority 1\n", `ns.conf:2:31: bind lb vserver: no authorization, responder, rewrite policy "nope"`},
		{"text that is not a command", "hallowed are the ori\n", `ns.conf:1:1: "hallowed are the" is not an ns.conf command`},
		{"a cs policy bound without a target", "add lb vserver lb HTTP\nadd cs vserver cs HTTP\nadd cs policy p -rule true\nbind cs vserver cs -policyName p -priority 1\n", `cs policy "p" has no target`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileNSConfErr(t, tt.nsconf, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// A function the ADC has and authdev does not emulate loads, is named as
// not emulated, and makes its policy UNDEF; in authdev.yaml it is an error.
func TestAnUnemulatedFunctionIsNamedAndUndefined(t *testing.T) {
	e := compileNSConf(t, `add lb vserver v HTTP
add responder policy sub "HTTP.REQ.URL.SUBSTR(\"x\").LENGTH.GT(0)" RESET
bind lb vserver v -policyName sub -priority 1
`)
	if w := warningsOf(e)[2]; !strings.Contains(w, "decision: responder policy \"sub\": HTTP.REQ.URL.SUBSTR is not emulated: it is UNDEF when evaluated") {
		t.Errorf("warning %q", w)
	}
	var res Result
	e.Evaluate(newRequest("GET", "/x", reader), &res)
	if res.Response != nil || len(res.Trace) != 1 || res.Trace[0].Error != "HTTP.REQ.URL.SUBSTR is not emulated" {
		t.Errorf("the policy is not UNDEF: %+v", res.Trace)
	}
	for _, rule := range []string{`HTTP.REQ.BODY(100).XPATH(xp%//user/name%).EQ(\"x\")`, `SYS.HTTP_CALLOUT(\"c\").EQ(\"x\")`, `CLIENT.SSL.CLIENT_CERT.EXISTS`, `SYS.TIME.BETWEEN(GMT 2005 May Sun_1, GMT 2005 May Sun_3)`} {
		e := compileNSConf(t, "add lb vserver v HTTP\nadd responder policy p \""+rule+"\" RESET\nbind lb vserver v -policyName p -priority 1\n")
		if w := warningsOf(e)[2]; !strings.Contains(w, "is not emulated: it is UNDEF when evaluated") {
			t.Errorf("%s: warning %q", rule, w)
		}
	}
	cfg := loadConfig(t, map[string]string{"authdev.yaml": personasYAML + `proxy:
  policies:
    - {name: p, rule: 'HTTP.REQ.URL.SUBSTR("x").LENGTH.GT(0)', action: DENY}
`})
	if _, err := Compile(cfg); err == nil || !strings.Contains(err.Error(), "HTTP.REQ.URL.SUBSTR is not emulated") {
		t.Errorf("authdev.yaml: %v", err)
	}
}

const csNSConf = `add serviceGroup sg_api HTTP
bind serviceGroup sg_api 127.0.0.1 8001
add serviceGroup sg_web HTTP
bind serviceGroup sg_web 127.0.0.1 8002
add lb vserver lb_api HTTP 0.0.0.0 0
bind lb vserver lb_api sg_api
add lb vserver lb_web HTTP 0.0.0.0 0
bind lb vserver lb_web sg_web
add cs vserver cs_front SSL 10.0.0.10 443
add cs action to_api -targetLBVserver lb_api
add cs policy is_api -rule "HTTP.REQ.URL.PATH.STARTSWITH(\"/api/\")" -action to_api
add cs policy is_docs -rule "HTTP.REQ.HOSTNAME.EQ(\"DOCS.example.com\")"
bind cs vserver cs_front -policyName is_api -priority 100
bind cs vserver cs_front -policyName is_docs -targetLBVserver lb_web -priority 90
bind cs vserver cs_front -lbvserver lb_web
add responder policy block_admin "HTTP.REQ.URL.PATH.STARTSWITH(\"/admin\")" RESET
bind cs vserver cs_front -policyName block_admin -priority 10 -gotoPriorityExpression END -type REQUEST
add responder action hello respondwith "\"HTTP/1.1 200 OK\r\n\r\nhi\""
add responder policy api_hello "HTTP.REQ.URL.PATH.EQ(\"/api/hello\")" hello
bind lb vserver lb_api -policyName api_hello -priority 5 -gotoPriorityExpression END -type REQUEST
add authorization policy api_admins "!AAA.USER.IS_MEMBER_OF(\"admin\")" DENY
bind lb vserver lb_api -policyName api_admins -priority 10
set tm sessionParameter -defaultAuthorizationAction ALLOW
`

// A responder bound to the cs vserver runs first, whatever lb vserver the
// switch picks; the lb vserver's policies apply only where it is picked.
func TestContentSwitchingEvaluatesTheCSVServerFirst(t *testing.T) {
	e := compileNSConf(t, csNSConf)
	tests := []struct {
		name, target, host string
		user               *User
		target2            string
		reset, allowed     bool
		status             int
		trace              string
	}{
		{"a responder that resets /admin on the cs vserver denies it", "/admin/users", "", admin, "lb_web", true, false, 0, "-is_docs -is_api +block_admin"},
		{"a path switches to the api's lb vserver and its policies", "/api/orders", "", reader, "lb_api", false, false, 0, "-is_docs +is_api -block_admin -api_hello +api_admins"},
		{"the lb vserver's responder answers only there", "/api/hello", "", reader, "lb_api", false, false, 200, "-is_docs +is_api -block_admin +api_hello"},
		{"host names switch case-blind", "/api/orders", "docs.example.com", reader, "lb_web", false, true, 0, "+is_docs -block_admin"},
		{"no match falls to -lbvserver", "/", "", reader, "lb_web", false, true, 0, "-is_docs -is_api -block_admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest("GET", tt.target, tt.user)
			if tt.host != "" {
				req.HTTP.Host = tt.host
			}
			var res Result
			e.Evaluate(req, &res)
			if res.Target != tt.target2 || traceOf(&res) != tt.trace {
				t.Fatalf("target %q trace %q, want %q %q", res.Target, traceOf(&res), tt.target2, tt.trace)
			}
			switch {
			case tt.reset:
				if res.Response == nil || !res.Response.Reset {
					t.Fatalf("not reset: %+v", res.Response)
				}
			case tt.status != 0:
				if res.Response == nil || res.Response.Status != tt.status {
					t.Fatalf("response %+v, want %d", res.Response, tt.status)
				}
			case res.Response != nil || res.Allowed != tt.allowed:
				t.Fatalf("allowed %v response %+v, want allowed %v", res.Allowed, res.Response, tt.allowed)
			}
		})
	}
	if w := e.Warnings(); len(w) != 0 {
		t.Errorf("policies bound to the cs vserver are emulated, but warn: %v", w)
	}
}

func TestPatsetsStringMapsAndNamedExpressions(t *testing.T) {
	e := compileNSConf(t, `add policy patset bad_agents
bind policy patset bad_agents sqlmap -index 1
bind policy patset bad_agents nikto -index 2
add policy patset admin_paths
bind policy patset admin_paths /admin
bind policy patset admin_paths /internal
add policy stringmap tenants
bind policy stringmap tenants acme.example.com acme
add policy expression is_admin_path "HTTP.REQ.URL.PATH.STARTSWITH_ANY(\"admin_paths\")"
add policy expression tenant HTTP.REQ.HOSTNAME.SERVER.MAP_STRING("tenants")
add lb vserver v HTTP
add responder policy agents "HTTP.REQ.HEADER(\"User-Agent\").CONTAINS_ANY(\"bad_agents\")" DROP
add authorization policy admins "is_admin_path && !AAA.USER.IS_MEMBER_OF(\"admin\")" DENY
add authorization policy whole_admin "HTTP.REQ.URL.PATH.EQUALS_ANY(\"admin_paths\")" ALLOW
add authorization policy known_tenant "tenant.EQ(\"acme\")" ALLOW
bind lb vserver v -policyName agents -priority 1
bind lb vserver v -policyName admins -priority 10
bind lb vserver v -policyName whole_admin -priority 15
bind lb vserver v -policyName known_tenant -priority 20
`)
	tests := []struct {
		name, host, path, agent string
		user                    *User
		drop, allowed           bool
	}{
		{"CONTAINS_ANY drops a pattern-set agent", "acme.example.com", "/", "Mozilla sqlmap/1.5", reader, true, false},
		{"a named expression in a rule denies", "acme.example.com", "/internal/x", "curl", reader, false, false},
		{"MAP_STRING through a named expression allows", "acme.example.com", "/", "curl", reader, false, true},
		{"an unknown tenant is UNDEF, then DENY by default", "other.example.com", "/", "curl", reader, false, false},
		{"EQUALS_ANY matches a whole path", "other.example.com", "/admin", "curl", admin, false, true},
		{"EQUALS_ANY does not match a longer one", "other.example.com", "/admin/x", "curl", admin, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest("GET", tt.path, tt.user, "User-Agent", tt.agent)
			req.HTTP.Host = tt.host
			var res Result
			e.Evaluate(req, &res)
			if drop := res.Response != nil && res.Response.Drop; drop != tt.drop || (!drop && res.Allowed != tt.allowed) {
				t.Fatalf("drop %v allowed %v, want %v %v (trace %+v)", drop, res.Allowed, tt.drop, tt.allowed, res.Trace)
			}
		})
	}
}

func TestAuditMessageActionsWriteTheirMessage(t *testing.T) {
	e := compileNSConf(t, `add audit messageaction log_admin INFORMATIONAL "\"admin area: \" + HTTP.REQ.URL.PATH + \" by \" + AAA.USER.NAME"
add lb vserver v HTTP
add authorization policy admin_area "HTTP.REQ.URL.PATH.STARTSWITH(\"/admin\")" ALLOW -logAction log_admin
bind lb vserver v -policyName admin_area -priority 10
`)
	var res Result
	e.Evaluate(newRequest("GET", "/admin/users", admin), &res)
	want := AuditMessage{Policy: "admin_area", Level: "INFORMATIONAL", Text: "admin area: /admin/users by alice@example.com"}
	if len(res.Messages) != 1 || res.Messages[0] != want {
		t.Fatalf("messages %+v, want %+v", res.Messages, want)
	}
	e.Evaluate(newRequest("GET", "/", admin), &res)
	if len(res.Messages) != 0 {
		t.Errorf("a policy that did not match wrote %+v", res.Messages)
	}
	if _, err := compileNSConfErr(t, "add authorization policy p true ALLOW -logAction nope\n", ""); err == nil || !strings.Contains(err.Error(), `no audit message action "nope"`) {
		t.Errorf("an unknown -logAction: %v", err)
	}
}

// A samlAction's -samlIdPCertName and -samlSigningCertName name certKeys;
// their files are read from beside the ns.conf when relative.
func TestCertKeysAreKeptForTheSAMLActionsThatNameThem(t *testing.T) {
	e := compileNSConf(t, `add ssl certKey entra_cert -cert certs/entra.pem
add ssl certKey sp_cert -cert /nsconfig/ssl/sp.crt -key /nsconfig/ssl/sp.key
`)
	a := e.Settings().Authn
	// The certKeys samlActions name, a relative file beside the ns.conf.
	if ck, ok := a.CertKey("ENTRA_cert"); !ok || !filepath.IsAbs(ck.Cert) || !strings.HasSuffix(ck.Cert, filepath.Join("certs", "entra.pem")) || ck.Pos.Line != 1 {
		t.Errorf("certKey entra_cert %+v (%v)", ck, ok)
	}
	if ck, ok := a.CertKey("sp_cert"); !ok || ck.Cert != "/nsconfig/ssl/sp.crt" || ck.Key != "/nsconfig/ssl/sp.key" {
		t.Errorf("certKey sp_cert %+v (%v)", ck, ok)
	}
	if w := e.Warnings(); len(w) != 2 || w[0].Effect != EffectNone {
		t.Errorf("a certKey stays not emulated for TLS: %v", w)
	}
}

func TestAuthenticationBackEndsAreParsedAndEmulatedByTheIdP(t *testing.T) {
	e := compileNSConf(t, `add authentication ldapAction ldap_corp -serverIP 10.0.0.5 -serverPort 636 -secType SSL -ldapBase "dc=corp,dc=example" -ldapBindDn svc@corp.example -ldapBindDnPassword secret -ldapLoginName sAMAccountName -groupAttrName memberOf -subAttributeName CN
add authentication radiusAction radius_otp -serverIP 10.0.0.6 -radKey secret
add authentication samlAction saml_entra -samlIdPCertName entra_cert -samlRedirectUrl "https://login.microsoftonline.com/t/saml2" -samlUserField "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress" -samlSigningCertName sp_cert -samlIssuerName "https://app.example.com" -samlBinding REDIRECT -attribute1 groups -attribute2 department -Attributes "upn,mail" -relaystateRule "AAA.LOGIN.RELAYSTATE.EQ(\"x\")" -signatureAlg RSA-SHA256 -digestMethod SHA256 -logoutURL "https://login.microsoftonline.com/t/saml2/logout"
add authentication Policy saml_pol -rule true -action saml_entra
add authentication Policy ldap_pol -rule "AAA.LOGIN.USERNAME.CONTAINS(\"@\")" -action ldap_corp
add authentication loginSchema single_auth -authenticationSchema "/nsconfig/loginschema/LoginSchema/SingleAuth.xml"
add authentication policylabel second_factor -loginSchema single_auth
bind authentication policylabel second_factor -policyName ldap_pol -priority 100 -gotoPriorityExpression NEXT
add authentication vserver av SSL 10.0.0.3 443
bind authentication vserver av -policy saml_pol -priority 100 -nextFactor second_factor -gotoPriorityExpression NEXT
`)
	st := e.Settings()
	a := st.Authn
	if len(a.SAML) != 1 || len(a.LDAP) != 1 || len(a.RADIUS) != 1 || len(a.LoginSchemas) != 1 || len(a.Labels) != 1 {
		t.Fatalf("back-ends %+v", a)
	}
	s := a.SAML[0]
	if s.IdPCertName != "entra_cert" || s.RedirectURL != "https://login.microsoftonline.com/t/saml2" || s.UserField == "" ||
		s.SigningCertName != "sp_cert" || s.IssuerName != "https://app.example.com" || s.Binding != "REDIRECT" ||
		strings.Join(s.Attributes, ",") != "groups,department,upn,mail" || s.RelayStateRule == "" ||
		s.SignatureAlg != "RSA-SHA256" || s.DigestMethod != "SHA256" || s.LogoutURL == "" {
		t.Errorf("samlAction %+v", s)
	}
	if l := a.LDAP[0]; l.Port != "636" || l.SecType != "SSL" || l.LoginName != "sAMAccountName" || l.GroupAttribute != "memberOf" {
		t.Errorf("ldapAction %+v", l)
	}
	if l := a.Labels[0]; l.LoginSchema != "single_auth" || len(l.Binds) != 1 || l.Binds[0].Policy != "ldap_pol" || l.Binds[0].Goto != "NEXT" {
		t.Errorf("policylabel %+v", l)
	}
	if w := e.Warnings(); len(w) != 0 {
		t.Errorf("the back-ends are emulated by the IdP, yet warn: %v", w)
	}
	var sum strings.Builder
	if err := e.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	note := "authentication back-ends: 1 LDAP, 1 RADIUS, 1 SAML, 1 login schema, 1 nFactor policy label: emulated by a login through authdev's IdP (the persona is the user)"
	if strings.Count(sum.String(), "emulated by a login through authdev's IdP") != 1 || !strings.Contains(sum.String(), note) {
		t.Errorf("the summary does not say once how back-ends are emulated:\n%s", sum.String())
	}
}

// Requests arrive at the SSL cs vserver; another applies only when a
// request names it.
func TestRequestsArriveAtTheSSLCSVServerUnlessTheyNameAnother(t *testing.T) {
	e := compileNSConf(t, csNSConf+"add cs vserver plain HTTP 10.0.0.10 80\nbind cs vserver plain -lbvserver lb_api\n")
	var res Result
	e.Evaluate(newRequest("GET", "/admin", admin), &res)
	if res.Response == nil || !res.Response.Reset {
		t.Fatalf("the SSL cs vserver's responder did not run: %+v", res)
	}
	req := newRequest("GET", "/admin", admin)
	req.VServer = "plain"
	e.Evaluate(req, &res)
	if res.Response != nil || res.Target != "lb_api" || !res.Allowed {
		t.Fatalf("at cs vserver plain: response %+v target %q allowed %v", res.Response, res.Target, res.Allowed)
	}
	if w := warningsOf(e)[24]; !strings.Contains(w, `none: cs vserver "plain": requests arrive at cs vserver "cs_front"`) {
		t.Errorf("warning %q", w)
	}
}

// A reason the summary gives once, with every line it concerns.
func TestTheSummaryNamesEachReasonOnceWithItsLines(t *testing.T) {
	e := compileNSConf(t, "add ssl certKey a -cert a.pem\nadd lb vserver v HTTP\nadd ssl certKey b -cert b.pem\nadd appfw policy p true APPFW_BLOCK\n")
	var b strings.Builder
	if err := e.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	want := `NOT EMULATED, able to change a decision (1)
  ns.conf:4: "add appfw policy" is not emulated: the web application firewall blocks requests

understood, not emulated (no effect on HTTP decisions) (2)
  ns.conf:1,3: "add ssl certKey" is not emulated: TLS settings: authdev terminates TLS with its local CA

ns.conf: 4 command lines: 1 emulated, 2 understood but not emulated (no effect on HTTP decisions), 1 not emulated and able to change a decision
`
	if !strings.HasSuffix(b.String(), want) {
		t.Errorf("summary ends\n%s\nwant\n%s", b.String(), want)
	}
}

// -relaystateRule compiles against AAA.LOGIN.RELAYSTATE; a rule that is not
// true or false (real configs have HTTP.REQ.URL) loads, checks nothing and
// is named.
func TestASAMLActionRelayStateRuleChecksTheRelayState(t *testing.T) {
	e := compileNSConf(t, `add authentication samlAction s -relaystateRule "AAA.LOGIN.RELAYSTATE.STARTSWITH(\"https://app.example.com/\")"
add authentication samlAction t -relaystateRule HTTP.REQ.URL
add authentication Policy p -rule "AAA.LOGIN.USERNAME.CONTAINS(\"@\")" -action s
`)
	a := e.Settings().Authn.SAML
	r := httptest.NewRequest(http.MethodPost, "/cgi/samlauth", nil)
	if ok, _ := a[0].RelayStateCheck(r, "https://app.example.com/x"); !ok {
		t.Error("the app's own RelayState is refused")
	}
	if ok, _ := a[0].RelayStateCheck(r, "https://evil.example.com/"); ok {
		t.Error("another site's RelayState passes")
	}
	if a[1].RelayStateCheck != nil || !strings.Contains(fmt.Sprint(e.Warnings()), `-relaystateRule "HTTP.REQ.URL" checks no login`) {
		t.Errorf("a text -relaystateRule: %v", e.Warnings())
	}
}
