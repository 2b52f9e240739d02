package adc

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/config"
)

// compileNSConf compiles an ns.conf next to a minimal authdev.yaml.
func compileNSConf(t *testing.T, nsconf string, opts ...Option) *Engine {
	t.Helper()
	e, err := compileNSConfErr(t, nsconf, "", opts...)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return e
}

func compileNSConfErr(t *testing.T, nsconf, proxyExtra string, opts ...Option) (*Engine, error) {
	t.Helper()
	cfg := loadConfig(t, map[string]string{
		"authdev.yaml": personasYAML + "proxy:\n  adc_config: ns.conf\n" + proxyExtra,
		"ns.conf":      nsconf,
	})
	return Compile(cfg, opts...)
}

func traceOf(res *Result) string {
	var parts []string
	for _, p := range res.Trace {
		m := "-"
		if p.Matched {
			m = "+"
		}
		parts = append(parts, m+p.Name)
	}
	return strings.Join(parts, " ")
}

func TestAuthorizationFollowsPriorityGotoAndTheDefault(t *testing.T) {
	e := compileNSConf(t, `
add lb vserver app HTTP 10.0.0.1 80
add authorization policy deny_admin "HTTP.REQ.URL.PATH.STARTSWITH(\"/admin\") && !AAA.USER.IS_MEMBER_OF(\"admin\")" DENY
add authorization policy allow_get "HTTP.REQ.METHOD.EQ(GET)" ALLOW
add authorization policy allow_all true ALLOW
add authorization policy deny_late "HTTP.REQ.URL.PATH.EQ(\"/late\")" DENY
bind lb vserver app -policyName allow_get -priority 20 -gotoPriorityExpression NEXT -type REQUEST
bind lb vserver app -policyName deny_admin -priority 10 -gotoPriorityExpression END -type REQUEST
bind lb vserver app -policyName deny_late -priority 30 -gotoPriorityExpression END -type REQUEST
add aaa group eng-admins
bind aaa group eng-admins -policy allow_all -priority 5
`)
	tests := []struct {
		name    string
		req     *Request
		allowed bool
		policy  string
		trace   string
	}{
		{"the lower priority number is evaluated first and END stops", newRequest("GET", "/admin", reader), false, "deny_admin", "+deny_admin"},
		{"NEXT goes on and a later match decides", newRequest("GET", "/late", reader), false, "deny_late", "-deny_admin +allow_get +deny_late"},
		{"NEXT goes on and the last match stands", newRequest("GET", "/x", reader), true, "allow_get", "-deny_admin +allow_get -deny_late"},
		{"no match falls to the ADC default DENY", newRequest("POST", "/x", reader), false, "", "-deny_admin -allow_get -deny_late"},
		// A policy bound to a group is not considered for others.
		{"a policy bound to an aaa group applies to its members", newRequest("POST", "/x", admin), true, "allow_all", "+allow_all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res Result
			e.Evaluate(tt.req, &res)
			if res.Allowed != tt.allowed || res.Policy != tt.policy || traceOf(&res) != tt.trace {
				t.Fatalf("got allowed=%v policy=%q trace %q, want %v %q %q", res.Allowed, res.Policy, traceOf(&res), tt.allowed, tt.policy, tt.trace)
			}
		})
	}
	if s := e.Settings(); s.DefaultAuthorization != "DENY" || !s.AAATM {
		t.Errorf("settings %+v: an ns.conf with authorization policies sets up AAA-TM, whose default is DENY", s)
	}
}

func TestGotoAPriorityNumberSkipsAhead(t *testing.T) {
	e := compileNSConf(t, `
add rewrite action a1 insert_http_header X-A "\"1\""
add rewrite action a2 insert_http_header X-B "\"2\""
add rewrite action a3 insert_http_header X-C "\"3\""
add rewrite policy p1 true a1
add rewrite policy p2 true a2
add rewrite policy p3 true a3
bind rewrite global p1 100 300 -type REQ_DEFAULT
bind rewrite global p2 200 NEXT -type REQ_DEFAULT
bind rewrite global p3 300 END -type REQ_DEFAULT
`)
	var res Result
	e.Evaluate(newRequest("GET", "/", nil), &res)
	var names []string
	for _, h := range res.Headers {
		names = append(names, h.Name)
	}
	if strings.Join(names, ",") != "X-A,X-C" {
		t.Fatalf("headers %v, want X-A then X-C (p2 skipped)", names)
	}
}

func TestResponderOverrideVServerDefaultOrderAndNOOP(t *testing.T) {
	e := compileNSConf(t, `
add lb vserver app HTTP 10.0.0.1 80
add responder action r_override respondwith "\"override\""
add responder action r_vs redirect "\"https://example.com\" + HTTP.REQ.URL" -responseStatusCode 301
add responder action r_default respondwith "\"HTTP/1.1 503 Service Unavailable\r\nX-Why: default\r\n\r\n\""
add responder policy p_override "HTTP.REQ.HEADER(\"X-Override\").EXISTS" r_override
add responder policy p_noop true NOOP
add responder policy p_vs "HTTP.REQ.URL.PATH.STARTSWITH(\"/old\")" r_vs
add responder policy p_default true r_default
add responder policy p_reset "HTTP.REQ.URL.PATH.EQ(\"/reset\")" RESET
bind responder global p_override 10 END -type REQ_OVERRIDE
bind lb vserver app -policyName p_noop -priority 5 -gotoPriorityExpression NEXT -type REQUEST
bind lb vserver app -policyName p_reset -priority 7 -gotoPriorityExpression END -type REQUEST
bind lb vserver app -policyName p_vs -priority 10 -gotoPriorityExpression END -type REQUEST
bind responder global p_default 10 END -type REQ_DEFAULT
`)
	tests := []struct {
		name     string
		req      *Request
		status   int
		location string
		trace    string
	}{
		{"a global override comes before the vserver", newRequest("GET", "/old/x", nil, "X-Override", "1"), 200, "", "+p_override"},
		{"the vserver's policy answers after a NOOP", newRequest("GET", "/old/x?q=1", nil), 301, "https://example.com/old/x?q=1", "-p_override +p_noop -p_reset +p_vs"},
		{"the global default answers last", newRequest("GET", "/new", nil), 503, "", "-p_override +p_noop -p_reset -p_vs +p_default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res Result
			e.Evaluate(tt.req, &res)
			r := res.Response
			if r == nil || r.Status != tt.status || r.Header.Get("Location") != tt.location || traceOf(&res) != tt.trace {
				t.Fatalf("response %+v trace %q, want %d %q %q", r, traceOf(&res), tt.status, tt.location, tt.trace)
			}
			if res.Allowed || len(res.Headers) != 0 {
				t.Errorf("a responder answer must stop authorization and rewrite: %+v", res)
			}
		})
	}
	var res Result
	e.Evaluate(newRequest("GET", "/reset", nil), &res)
	if res.Response == nil || !res.Response.Reset || res.Policy != "p_reset" {
		t.Fatalf("RESET: %+v", res.Response)
	}
	e.Evaluate(newRequest("GET", "/new", nil), &res)
	if res.Response.Header.Get("X-Why") != "default" || res.Response.Body != "" {
		t.Errorf("raw response headers not parsed: %+v", res.Response)
	}
}

func TestRewriteInsertsDeletesAndReplaces(t *testing.T) {
	e := compileNSConf(t, `
set tm sessionParameter -defaultAuthorizationAction ALLOW
add rewrite action ins insert_http_header X-User "AAA.USER.NAME + \" (\" + AAA.USER.ATTRIBUTE(\"department\") + \")\""
add rewrite action del delete_http_header X-Secret
add rewrite action rep_hdr replace "HTTP.REQ.HEADER(\"X-Env\")" "\"prod\""
add rewrite action rep_path replace HTTP.REQ.URL.PATH "\"/v2\" + HTTP.REQ.URL.PATH.AFTER_STR(\"/v1\")"
add rewrite action rep_query replace HTTP.REQ.URL.QUERY "\"page=1\""
add rewrite policy p_ins true ins
add rewrite policy p_del true del
add rewrite policy p_rep_hdr true rep_hdr
add rewrite policy p_rep_path "HTTP.REQ.URL.PATH.STARTSWITH(\"/v1/\")" rep_path
add rewrite policy p_rep_query "HTTP.REQ.URL.QUERY.CONTAINS(\"page=0\")" rep_query
bind rewrite global p_ins 10 NEXT
bind rewrite global p_del 20 NEXT
bind rewrite global p_rep_hdr 30 NEXT
bind rewrite global p_rep_path 40 NEXT
bind rewrite global p_rep_query 50 END
`)
	var res Result
	e.Evaluate(newRequest("GET", "/v1/items?page=0", admin, "X-Env", "dev"), &res)
	want := []HeaderOp{
		{"insert", "X-Remote-User", "alice@example.com"},
		{"insert", "X-Remote-Groups", "eng-admins"},
		{"insert", "X-Remote-Roles", "admin"},
		{"insert", "X-User", "alice@example.com (platform)"},
		{"delete", "X-Secret", ""},
		{"delete", "X-Env", ""},
		{"insert", "X-Env", "prod"},
	}
	if !reflect.DeepEqual(res.Headers, want) {
		t.Errorf("headers\n%+v\nwant\n%+v", res.Headers, want)
	}
	if res.URL != "/v2/items?page=1" {
		t.Errorf("URL %q, want /v2/items?page=1", res.URL)
	}
	e.Evaluate(newRequest("GET", "/other", admin), &res)
	if res.URL != "" || len(res.Headers) != 5 {
		t.Errorf("without X-Env and /v1 nothing is replaced: URL %q headers %+v", res.URL, res.Headers)
	}
	owned := e.OwnedHeaders()
	if !reflect.DeepEqual(owned, []string{"X-Remote-User", "X-Remote-Groups", "X-Remote-Roles", "X-User"}) {
		t.Errorf("owned headers %v", owned)
	}
}

func TestPoliciesOfAnUpstreamsVServerApplyOnlyToIt(t *testing.T) {
	e := compileNSConf(t, `
add serviceGroup sg_api HTTP
bind serviceGroup sg_api 127.0.0.1 8001
add lb vserver api HTTP 10.0.0.1 80
bind lb vserver api sg_api
add lb vserver front HTTP 10.0.0.2 80
add authorization policy api_only_admins "!AAA.USER.IS_MEMBER_OF(\"admin\")" DENY
add authorization policy everyone true ALLOW
bind lb vserver api -policyName api_only_admins -priority 10
bind lb vserver front -policyName everyone -priority 20
`)
	tests := []struct {
		name     string
		upstream string
		allowed  bool
		trace    string
	}{
		{"the upstream's vserver and the proxy's apply to it", "api", false, "+api_only_admins"},
		{"another upstream sees only the proxy's vserver", "web", true, "+everyone"},
		{"an unknown route sees every vserver", "", false, "+api_only_admins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest("GET", "/", reader)
			req.Upstream = tt.upstream
			var res Result
			e.Evaluate(req, &res)
			if res.Allowed != tt.allowed || traceOf(&res) != tt.trace {
				t.Fatalf("allowed=%v trace %q, want %v %q", res.Allowed, traceOf(&res), tt.allowed, tt.trace)
			}
		})
	}
}

func TestSettingsComeFromTheNSConf(t *testing.T) {
	e := compileNSConf(t, `
add server web1 192.0.2.10
add serviceGroup sg HTTP
bind serviceGroup sg web1 8080
bind serviceGroup sg 192.0.2.11 8081
add lb monitor mon HTTP -respCode 204 -httpRequest "GET /ready" -interval 2000 -units3 MSEC -resptimeout 1 -retries 5
bind serviceGroup sg -monitorName mon
add service tls_svc 2001:db8::1 SSL 443
add lb vserver app HTTP 10.0.0.1 80 -lbMethod ROUNDROBIN -authn401 ON -authnVsName aaa
bind lb vserver app sg
add lb vserver secure SSL 10.0.0.2 443
bind lb vserver secure tls_svc
add authentication vserver aaa SSL 10.0.0.3 443
add authentication OAuthAction other -clientID x -metadataUrl https://other.example.com/.well-known/openid-configuration
add authentication OAuthAction okta -authorizationEndpoint https://okta.example.com/authorize -tokenEndpoint https://okta.example.com/token -clientID cid -clientSecret s3cr3t -issuer https://okta.example.com -audience api://app -userNameField preferred_username -Attributes "department, groups" -PKCE DISABLED -allowedAlgorithms RS256 ES256 -skewTime 1
add authentication Policy pol -rule true -action okta
bind authentication vserver aaa -policy pol -priority 1
set tm sessionParameter -sessTimeout 45 -defaultAuthorizationAction ALLOW
`)
	s := e.Settings()
	wantUpstreams := []config.Upstream{
		{Name: "app", Prefix: "/", Targets: []string{"http://192.0.2.10:8080", "http://192.0.2.11:8081"}, LB: "roundrobin", API: true,
			Monitor: &config.Monitor{Path: "/ready", Interval: config.Duration(2 * time.Second), Timeout: config.Duration(time.Second), Status: 204, Retries: 5},
			Timeout: config.Duration(30 * time.Second)},
		{Name: "secure", Prefix: "/", Targets: []string{"https://[2001:db8::1]:443"}, LB: "leastconnection", Timeout: config.Duration(30 * time.Second)},
	}
	for i := range s.Upstreams {
		s.Upstreams[i].Pos = config.Pos{}
	}
	if !reflect.DeepEqual(s.Upstreams, wantUpstreams) {
		t.Errorf("upstreams\n%+v\nwant\n%+v", s.Upstreams, wantUpstreams)
	}
	if s.SessionTimeout != 45*time.Minute || s.DefaultAuthorization != "ALLOW" || !s.AAATM {
		t.Errorf("session settings %+v", s)
	}
	o := s.OAuth
	if o == nil || o.Name != "okta" || o.Issuer != "https://okta.example.com" || o.Audience != "api://app" ||
		o.UserNameField != "preferred_username" || !reflect.DeepEqual(o.Attributes, []string{"department", "groups"}) ||
		o.PKCE || o.ClientSecret != "s3cr3t" || o.SkewTime != time.Minute ||
		!reflect.DeepEqual(o.AllowedAlgorithms, []string{"RS256", "ES256"}) || o.TokenEndpointAuthMethod != "client_secret_post" {
		t.Errorf("OAuth action %+v: the bound one (okta) with its options and the ADC's defaults", o)
	}
	var warned bool
	for _, w := range e.Warnings() {
		warned = warned || strings.Contains(w.Msg, "all become upstreams with prefix /")
	}
	if !warned {
		t.Errorf("two upstreams with prefix / should be warned about: %v", e.Warnings())
	}
}

func TestWithoutAnNSConfTheYAMLDefaultApplies(t *testing.T) {
	e := compileYAML(t, "proxy:\n  default_authorization: DENY\n  session_timeout: 10m\n")
	s := e.Settings()
	if s.DefaultAuthorization != "DENY" || s.AAATM || s.SessionTimeout != 10*time.Minute || s.OAuth != nil || len(s.Upstreams) != 0 {
		t.Fatalf("settings %+v", s)
	}
	var res Result
	e.Evaluate(newRequest("GET", "/", admin), &res)
	if res.Allowed || res.Policy != "" {
		t.Errorf("default DENY not applied: %+v", res)
	}
}

func TestASessionPolicyBoundToAGroupSetsItsDefault(t *testing.T) {
	e := compileNSConf(t, `
add tm sessionAction admins_allow -defaultAuthorizationAction ALLOW
add tm sessionPolicy admins_sess true admins_allow
bind aaa group admin -policy admins_sess -priority 10
`)
	for _, tt := range []struct {
		user    *User
		allowed bool
	}{{admin, true}, {reader, false}, {nil, false}} {
		var res Result
		e.Evaluate(newRequest("GET", "/", tt.user), &res)
		if res.Allowed != tt.allowed {
			t.Errorf("user %v: allowed=%v, want %v (trace %+v)", tt.user, res.Allowed, tt.allowed, res.Trace)
		}
	}
}

func TestNSConfErrorsPointAtTheWord(t *testing.T) {
	tests := []struct {
		name   string
		nsconf string
		want   string
	}{
		{"an expression error inside quotes", `add authorization policy p "HTTP.REQ.URL.EQ(\"a\") &&" ALLOW` + "\n",
			`ns.conf:1:54: authorization policy "p": expression ends too early`},
		{"an unclosed quote", `add rewrite policy p "true rw` + "\n", `ns.conf:1:22: quote is not closed`},
		{"an authorization action that is neither", `add authorization policy p true MAYBE` + "\n",
			`ns.conf:1:33: add authorization policy: action "MAYBE": an authorization policy either ALLOWs or DENYs`},
		{"a missing rule", `add authorization policy p` + "\n", `ns.conf:1:27: add authorization policy: expected add authorization policy NAME RULE ALLOW|DENY`},
		{"a bind to an unknown policy", "add lb vserver v HTTP\nadd authorization policy allow_all true ALLOW\nbind lb vserver v -policyName allow_al -priority 1\n",
			`ns.conf:3:31: bind lb vserver: no authorization, responder, rewrite policy "allow_al" (did you mean allow_all?)`},
		{"a bind to an unknown vserver", "bind lb vserver nope -policyName p -priority 1\n", `ns.conf:1:17: bind lb vserver: no lb vserver "nope"`},
		{"a bind without a priority", "add lb vserver v HTTP\nadd authorization policy p true ALLOW\nbind lb vserver v -policyName p\n",
			`ns.conf:3:32: bind lb vserver: expected -priority N`},
		{"a bad priority", "add lb vserver v HTTP\nadd authorization policy p true ALLOW\nbind lb vserver v -policyName p -priority high\n",
			`ns.conf:3:33: bind lb vserver: -priority "high" must be a number`},
		{"a bad goto", "add lb vserver v HTTP\nadd authorization policy p true ALLOW\nbind lb vserver v -policyName p -priority 1 -gotoPriorityExpression LATER\n",
			`ns.conf:3:69: bind lb vserver: -gotoPriorityExpression "LATER": use NEXT, END`},
		{"a goto without a value", "add lb vserver v HTTP\nadd authorization policy p true ALLOW\nbind lb vserver v -policyName p -priority 1 -gotoPriorityExpression\n",
			`ns.conf:3:45: bind lb vserver: -gotoPriorityExpression needs a value`},
		{"an unknown limit in a rule", `add responder policy p "SYS.CHECK_LIMIT(\"lim\")" DROP` + "\n",
			`ns.conf:1:42: responder policy "p": no limit identifier "lim"`},
		{"a limit with an unknown selector", "add ns limitIdentifier lim -selectorName nosel\n", `ns.conf:1:1: add ns limitIdentifier lim: no stream selector "nosel"`},
		{"a bad threshold", "add ns limitIdentifier lim -threshold 0\n", `ns.conf:1:28: add ns limitIdentifier: -threshold "0" must be a number of at least 1`},
		{"a selector using CHECK_LIMIT", "add ns limitIdentifier lim\nadd stream selector s \"SYS.CHECK_LIMIT(\\\"lim\\\")\"\n", `stream selector "s": no limit identifier "lim"`},
		{"a responder policy with an unknown action", `add responder policy p true go_away` + "\n", `ns.conf:1:29: add responder policy: no responder action "go_away"`},
		{"a rewrite insert without an expression", "add rewrite action a insert_http_header X-A\n", `ns.conf:1:44: add rewrite action: expected add rewrite action a insert_http_header HEADER EXPRESSION`},
		{"a bad response status", "add responder action a redirect \"\\\"/x\\\"\" -responseStatusCode 999\n", `ns.conf:1:42: add responder action: -responseStatusCode "999" is not an HTTP status`},
		{"a serviceGroup member with a bad port", "add serviceGroup sg HTTP\nbind serviceGroup sg 127.0.0.1 http\n", `ns.conf:2:32: bind serviceGroup: port "http" is not a number`},
		{"a vserver bound to an unknown serviceGroup", "add lb vserver v HTTP\nbind lb vserver v sg_missing\n", `ns.conf:2:19: bind lb vserver: no serviceGroup or service "sg_missing"`},
		{"an unknown monitor", "add serviceGroup sg HTTP\nbind serviceGroup sg 127.0.0.1 80\nbind serviceGroup sg -monitorName mon\nadd lb vserver v HTTP\nbind lb vserver v sg\n",
			`ns.conf:3:35: bind serviceGroup: no lb monitor "mon"`},
		{"an OAuth action without a client", "add authentication OAuthAction o -metadataUrl https://idp.example.com/.well-known/openid-configuration\n", `add authentication OAuthAction: OAuth action "o" needs -clientID`},
		{"an OAuth action with a relative URL", "add authentication OAuthAction o -clientID c -authorizationEndpoint /authorize -tokenEndpoint https://x.example.com/t\n",
			`ns.conf:1:46: add authentication OAuthAction: -authorizationEndpoint "/authorize" is not an absolute http(s) URL`},
		{"a bad session timeout", "set tm sessionParameter -sessTimeout forever\n", `ns.conf:1:25: set tm sessionParameter: -sessTimeout "forever" must be a number of minutes`},
		{"a policy defined twice", "add authorization policy p true ALLOW\nadd authorization policy p false DENY\n", `ns.conf:2:26: add authorization policy: authorization policy "p" is defined twice`},
		{"words after the action", "add authorization policy p HTTP.REQ.URL.EQ(\"/a b\") ALLOW\n", `ns.conf:1:52: add authorization policy: unexpected "ALLOW" after the action: quote the rule if it contains spaces`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileNSConfErr(t, tt.nsconf, "")
			if err == nil {
				t.Fatal("compiled without an error")
			}
			if _, ok := err.(config.Errors); !ok {
				t.Fatalf("error is %T, want config.Errors", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error lacks %q:\n%v", tt.want, err)
			}
		})
	}
}

func TestEveryProblemIsReportedAtOnceWithItsCaret(t *testing.T) {
	_, err := compileNSConfErr(t, "add authorization policy a \"HTTP.REQ.URL.EQ(\\\"x\\\"\" ALLOW\nadd authorization policy b true PERMIT\n", `  policies:
    - name: yaml
      rule: HTTP.REQ.URL.STARTSWITH("/a") &&
      action: DENY
`)
	errs, ok := err.(config.Errors)
	if !ok || len(errs) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	if !strings.HasSuffix(errs[0].Pos.File, "authdev.yaml") || errs[0].Pos.Line != 10 || errs[0].Pos.Col != 45 ||
		!strings.HasSuffix(errs[1].Pos.File, "ns.conf") || errs[1].Pos.Line != 1 || errs[2].Pos.Line != 2 {
		t.Fatalf("problems are not in file and line order: %v", err)
	}
	msg := errs[1].Msg
	wantCaret := "\n    add authorization policy a \"HTTP.REQ.URL.EQ(\\\"x\\\"\" ALLOW\n    " + strings.Repeat(" ", 49) + "^"
	if !strings.HasSuffix(msg, wantCaret) || errs[1].Pos.Col != 50 {
		t.Errorf("ns.conf problem %v:\n%s\nwant caret\n%s", errs[1].Pos, msg, wantCaret)
	}
}

func TestUnsupportedCommandsAndOptionsAreWarnings(t *testing.T) {
	e := compileNSConf(t, `#NS14.1 Build 12.30
set ns config -IPAddress 10.0.0.5 -netmask 255.255.255.0

enable ns feature LB AAA
add ssl certKey ck -cert a.crt -key a.key
add lb vserver v HTTP 10.0.0.1 80 -lbMethod SOURCEIPHASH -somethingNew 1 -cltTimeout 180
add lb monitor tcpmon TCP
add rewrite action weird insert_before_all HTTP.REQ.URL "\"x\""
add responder action page respondwithhtmlpage sorry_page
add rewrite policy rw true weird
bind lb vserver v -policyName rw -priority 10 -gotoPriorityExpression END -type REQUEST
add authorization policy unbound true ALLOW
add rewrite action body replace HTTP.REQ.BODY(10) "\"x\""
`)
	got := map[int]string{}
	for _, w := range e.Warnings() {
		got[w.Pos.Line] += w.Msg + "|"
	}
	want := map[int]string{
		2:  `"set ns config" is not emulated: administration of the appliance|`,
		5:  `"add ssl certKey" is not emulated: TLS settings: authdev terminates TLS with its local CA|`,
		6:  `lb vserver "v": -lbMethod SOURCEIPHASH is not emulated: using LEASTCONNECTION|add lb vserver: option -somethingNew is not emulated: ignored|`,
		7:  `monitor "tcpmon": type TCP is not emulated: authdev runs HTTP monitors only|`,
		8:  `rewrite action "weird": type insert_before_all is not emulated: policies using it change nothing|`,
		9:  `responder action "page": imported HTML page "sorry_page" is not loaded: authdev answers with a page naming it|`,
		11: "rewrite policies are bound but `enable ns feature` does not list REWRITE: the ADC would not run them; authdev does|",
		12: `authorization policy "unbound" is never bound: the ADC does not evaluate it|`,
		13: `rewrite action "body": replacing HTTP.REQ.BODY(10) is not emulated: authdev replaces HTTP.REQ.URL, HTTP.REQ.URL.PATH, HTTP.REQ.URL.QUERY or HTTP.REQ.HEADER("name"); policies using it change nothing|`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings by line\n%v\nwant\n%v", got, want)
	}
	for _, w := range e.Warnings() {
		if !strings.HasSuffix(w.Pos.File, "ns.conf") || w.Command == "" {
			t.Errorf("warning %+v lacks its file or command", w)
		}
	}
}

func TestNeedsBodyIsTheLongestBodyRead(t *testing.T) {
	e := compileNSConf(t, `
add responder policy small "HTTP.REQ.BODY(100).CONTAINS(\"x\")" DROP
add responder policy large "HTTP.REQ.BODY(4096).CONTAINS(\"y\")" DROP
bind responder global small 1
bind responder global large 2
`)
	if e.NeedsBody() != 4096 {
		t.Errorf("NeedsBody = %d, want 4096", e.NeedsBody())
	}
	if compileYAML(t, "").NeedsBody() != 0 {
		t.Error("no policy reads the body, NeedsBody should be 0")
	}
}

func TestAMissingNSConfIsAConfigError(t *testing.T) {
	cfg := loadConfig(t, map[string]string{"authdev.yaml": personasYAML + "proxy:\n  adc_config: missing.conf\n"})
	_, err := Compile(cfg)
	if _, ok := err.(config.Errors); !ok || !strings.Contains(err.Error(), `proxy.adc_config: cannot read`) || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("error %T %v", err, err)
	}
}

func TestCLIQuotingWithQAndSingleQuotes(t *testing.T) {
	e := compileNSConf(t, `
set tm sessionParameter -defaultAuthorizationAction ALLOW
add responder action hello respondwith q{"HTTP/1.0 200 OK" + "\r\n\r\n" + "<b>hi " + AAA.USER.NAME + "</b>"}
add responder policy 'say hello' q|HTTP.REQ.URL.PATH.EQ("/hello") && HTTP.REQ.HEADER("X-A").EQ(q{a b})| hello
bind responder global 'say hello' 10 END
`)
	var res Result
	e.Evaluate(newRequest("GET", "/hello", admin, "X-A", "a b"), &res)
	if r := res.Response; r == nil || r.Status != 200 || r.Body != "<b>hi alice@example.com</b>" || res.Policy != "say hello" {
		t.Fatalf("response %+v policy %q", r, res.Policy)
	}
}
