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
