package adc

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authdev/authdev/config"
)

// benchPolicies are 20 policies of the shapes real configs use; none
// matches the benchmark's request, so every one is evaluated.
var benchPolicies = []string{
	`HTTP.REQ.URL.PATH.STARTSWITH("/admin") && !AAA.USER.IS_MEMBER_OF("admin")`,
	`HTTP.REQ.URL.PATH.STARTSWITH("/reports") && !(AAA.USER.IS_MEMBER_OF("admin") || AAA.USER.IS_MEMBER_OF("viewer"))`,
	`HTTP.REQ.METHOD.EQ(DELETE) && !AAA.USER.IS_MEMBER_OF("admin")`,
	`HTTP.REQ.URL.PATH.EQ("/internal/metrics")`,
	`HTTP.REQ.HEADER("X-Debug").EXISTS`,
	`HTTP.REQ.URL.PATH.SET_TEXT_MODE(IGNORECASE).STARTSWITH("/PRIVATE")`,
	`HTTP.REQ.URL.QUERY.CONTAINS("debug=1")`,
	`AAA.USER.NAME.ENDSWITH("@partner.example") && HTTP.REQ.URL.PATH.STARTSWITH("/api/finance")`,
	`HTTP.REQ.HOSTNAME.EQ("admin.example.com")`,
	`CLIENT.IP.SRC.IN_SUBNET(203.0.113.0/24)`,
	`HTTP.REQ.URL.PATH.ENDSWITH(".bak") || HTTP.REQ.URL.PATH.ENDSWITH(".git")`,
	`HTTP.REQ.HEADER("User-Agent").CONTAINS("sqlmap")`,
	`AAA.USER.ATTRIBUTE("department").EQ("contractors")`,
	`HTTP.REQ.URL.PATH.STARTSWITH("/api/v1/") && HTTP.REQ.METHOD.EQ(PUT)`,
	`HTTP.REQ.URL.PATH.CONTAINS("..")`,
	`HTTP.REQ.HEADER("Content-Type").SET_TEXT_MODE(IGNORECASE).CONTAINS("multipart") && !AAA.USER.IS_MEMBER_OF("uploader")`,
	`HTTP.REQ.URL.LENGTH.GT(2048)`,
	`HTTP.REQ.COOKIE.VALUE("beta").EQ("1") && !AAA.USER.IS_MEMBER_OF("beta")`,
	`HTTP.REQ.URL.PATH.REGEX_MATCH(re#^/api/v[0-9]+/admin/#)`,
	`AAA.USER.GROUPS.CONTAINS("suspended")`,
}

func benchEngine(b *testing.B) *Engine {
	var y strings.Builder
	y.WriteString("proxy:\n  default_authorization: ALLOW\n  policies:\n")
	for i, p := range benchPolicies {
		fmt.Fprintf(&y, "    - name: p%02d\n      rule: '%s'\n      action: DENY\n", i, p)
	}
	cfg := loadConfig(b, map[string]string{"authdev.yaml": personasYAML + y.String()})
	e, err := Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func benchRequest() *Request {
	r := httptest.NewRequest("GET", "/api/orders/42?expand=items", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Cookie", "theme=dark; lang=en")
	return &Request{HTTP: r, ClientIP: netip.MustParseAddr("127.0.0.1"), User: &User{
		Name:   "bob@example.com",
		Groups: []string{"eng", "eng-admins"},
		Roles:  []string{"developer", "admin"},
		Attributes: map[string]any{"department": "payments", "roles": []string{"developer", "admin"},
			"groups": []any{"eng", "eng-admins"}},
	}}
}

// BenchmarkEvaluate20Policies evaluates 20 authorization policies and the
// three default identity headers for a request, reusing the Result as the
// proxy does.
func BenchmarkEvaluate20Policies(b *testing.B) {
	e := benchEngine(b)
	req := benchRequest()
	var res Result
	e.Evaluate(req, &res)
	if !res.Allowed || len(res.Trace) != 20 || len(res.Headers) != 3 {
		b.Fatalf("unexpected result: allowed=%v trace=%d headers=%v", res.Allowed, len(res.Trace), res.Headers)
	}
	b.ReportAllocs()
	for b.Loop() {
		e.Evaluate(req, &res)
	}
}

// BenchmarkEvaluateParallel is the same under concurrent requests, one
// Result per goroutine.
func BenchmarkEvaluateParallel(b *testing.B) {
	e := benchEngine(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := benchRequest()
		var res Result
		for pb.Next() {
			e.Evaluate(req, &res)
		}
	})
}

// BenchmarkEvaluateAAATM runs the whole testdata/aaatm ns.conf: four
// responder policies (one a rate limit), five authorization policies, a
// session policy and five rewrites, one of which builds a string.
func BenchmarkEvaluateAAATM(b *testing.B) {
	cfg, err := config.Load(filepath.Join("testdata", "aaatm", "authdev.yaml"), config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		b.Fatal(err)
	}
	e, err := Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	req := benchRequest()
	req.HTTP.RequestURI = "/catalog/42"
	req.Upstream = "orders"
	var res Result
	e.Evaluate(req, &res)
	if !res.Allowed || res.Policy != "authz_read" {
		b.Fatalf("unexpected result: %+v", res)
	}
	b.ReportAllocs()
	for b.Loop() {
		e.Evaluate(req, &res)
	}
}

// csBenchNSConf is a cs vserver in front of two lb vservers with 20
// policies: 8 cs policies, a responder with a pattern set of 1,000 strings,
// 6 more responders and 5 authorization policies; none matches the
// benchmark's request, so every one is evaluated.
func csBenchNSConf() string {
	var b strings.Builder
	b.WriteString("add policy patset blocked\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "bind policy patset blocked \"/blocked/area-%04d/\"\n", i)
	}
	b.WriteString(`add serviceGroup sg_a HTTP
bind serviceGroup sg_a 127.0.0.1 8001
add serviceGroup sg_b HTTP
bind serviceGroup sg_b 127.0.0.1 8002
add lb vserver lb_a HTTP 0.0.0.0 0
bind lb vserver lb_a sg_a
add lb vserver lb_b HTTP 0.0.0.0 0
bind lb vserver lb_b sg_b
add cs vserver front SSL 10.0.0.1 443
bind cs vserver front -lbvserver lb_a
add responder policy r_patset "HTTP.REQ.URL.PATH.CONTAINS_ANY(\"blocked\")" RESET
bind cs vserver front -policyName r_patset -priority 10
set tm sessionParameter -defaultAuthorizationAction ALLOW
`)
	for i := range 8 {
		fmt.Fprintf(&b, "add cs policy cs%d -rule \"HTTP.REQ.HOSTNAME.EQ(\\\"app%d.example.com\\\") || HTTP.REQ.URL.PATH.STARTSWITH(\\\"/app%d/\\\")\"\n", i, i, i)
		fmt.Fprintf(&b, "bind cs vserver front -policyName cs%d -targetLBVserver lb_b -priority %d\n", i, 100+i)
	}
	for i := range 6 {
		fmt.Fprintf(&b, "add responder policy r%d \"HTTP.REQ.HEADER(\\\"X-Block-%d\\\").EXISTS || HTTP.REQ.URL.QUERY.CONTAINS(\\\"block%d=\\\")\" DROP\n", i, i, i)
		fmt.Fprintf(&b, "bind cs vserver front -policyName r%d -priority %d\n", i, 20+i)
	}
	for i := range 5 {
		fmt.Fprintf(&b, "add authorization policy a%d \"HTTP.REQ.URL.PATH.STARTSWITH(\\\"/admin%d\\\") && !AAA.USER.IS_MEMBER_OF(\\\"admin\\\")\" DENY\n", i, i)
		fmt.Fprintf(&b, "bind lb vserver lb_a -policyName a%d -priority %d\n", i, 10+i)
	}
	return b.String()
}

// BenchmarkEvaluateCSVServer20PoliciesPatset1000 evaluates a request that
// arrives at a cs vserver: the switch, the responders at the cs vserver
// (one searching a 1,000-string pattern set), then the picked lb vserver's
// authorization policies.
func BenchmarkEvaluateCSVServer20PoliciesPatset1000(b *testing.B) {
	cfg := loadConfig(b, map[string]string{"authdev.yaml": personasYAML + "proxy:\n  adc_config: ns.conf\n", "ns.conf": csBenchNSConf()})
	e, err := Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	req := benchRequest()
	var res Result
	e.Evaluate(req, &res)
	if !res.Allowed || res.Response != nil || res.Target != "lb_a" || len(res.Trace) != 20 {
		b.Fatalf("unexpected result: allowed=%v target=%q trace=%d", res.Allowed, res.Target, len(res.Trace))
	}
	b.ReportAllocs()
	for b.Loop() {
		e.Evaluate(req, &res)
	}
}
