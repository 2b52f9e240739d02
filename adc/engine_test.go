package adc

import (
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/authdev/authdev/config"
)

// loadConfig writes files into a temporary folder and loads authdev.yaml
// from it, so that positions in errors point into real files.
func loadConfig(t testing.TB, files map[string]string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(filepath.Join(dir, "authdev.yaml"), config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

const personasYAML = `
personas:
  alice: {email: alice@example.com, groups: [eng-admins]}
environments:
  dev: {roles: {eng-admins: [admin]}}
`

func compileYAML(t *testing.T, proxy string, opts ...Option) *Engine {
	t.Helper()
	cfg := loadConfig(t, map[string]string{"authdev.yaml": personasYAML + proxy})
	e, err := Compile(cfg, opts...)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return e
}

func newRequest(method, target string, user *User, headers ...string) *Request {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return &Request{HTTP: r, ClientIP: netip.MustParseAddr("192.0.2.10"), User: user}
}

var (
	admin  = &User{Name: "alice@example.com", Groups: []string{"eng-admins"}, Roles: []string{"admin"}, Attributes: map[string]any{"roles": []string{"admin"}, "department": "platform"}}
	reader = &User{Name: "bob@example.com", Groups: []string{"eng"}, Roles: []string{"reader"}, Attributes: map[string]any{"roles": []any{"reader", "auditor"}}}
)

func TestYAMLPoliciesDecideInOrderThenTheDefault(t *testing.T) {
	e := compileYAML(t, `
proxy:
  default_authorization: ALLOW
  headers:
    X-Remote-User: AAA.USER.NAME
    X-Remote-Groups: AAA.USER.GROUPS
    X-Remote-Roles: AAA.USER.ATTRIBUTE("roles")
  policies:
    - name: admin-area
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/admin") && !AAA.USER.IS_MEMBER_OF("admin")
      action: DENY
    - name: health
      rule: HTTP.REQ.URL.PATH.EQ("/healthz") || HTTP.REQ.METHOD.EQ(OPTIONS)
      action: ALLOW
`)
	tests := []struct {
		name    string
		req     *Request
		allowed bool
		policy  string
		headers string
	}{
		{"an admin reaches the admin area by the default action", newRequest("GET", "/admin/users", admin), true, "", "X-Remote-User=alice@example.com X-Remote-Groups=eng-admins X-Remote-Roles=admin"},
		{"a reader is denied the admin area by admin-area", newRequest("GET", "/admin/users?x=1", reader), false, "admin-area", ""},
		{"nobody is denied the admin area", newRequest("GET", "/admin", nil), false, "admin-area", ""},
		{"health is allowed by its policy", newRequest("GET", "/healthz", reader), true, "health", "X-Remote-User=bob@example.com X-Remote-Groups=eng X-Remote-Roles=reader,auditor"},
		{"a path that merely contains admin is allowed", newRequest("GET", "/x/admin", reader), true, "", "X-Remote-User=bob@example.com X-Remote-Groups=eng X-Remote-Roles=reader,auditor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res Result
			e.Evaluate(tt.req, &res)
			if res.Allowed != tt.allowed || res.Policy != tt.policy {
				t.Fatalf("got allowed=%v policy=%q, want %v %q (trace %+v)", res.Allowed, res.Policy, tt.allowed, tt.policy, res.Trace)
			}
			var got []string
			for _, h := range res.Headers {
				got = append(got, h.Name+"="+h.Value)
			}
			if strings.Join(got, " ") != tt.headers {
				t.Errorf("headers %q, want %q", strings.Join(got, " "), tt.headers)
			}
		})
	}
}

func TestCompileErrorsPointAtTheColumnWithACaret(t *testing.T) {
	cfg := loadConfig(t, map[string]string{"authdev.yaml": personasYAML + `
proxy:
  policies:
    - name: broken
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/admin" && true
      action: DENY
    - name: typo
      rule: 'AAA.USER.IS_MEMBR_OF("admin")'
      action: DENY
`})
	_, err := Compile(cfg)
	errs, ok := err.(config.Errors)
	if !ok || len(errs) != 2 {
		t.Fatalf("want 2 config.Errors, got %T %v", err, err)
	}
	got := err.Error()
	for _, want := range []string{
		"authdev.yaml:10:58: policy \"broken\": expected \")\" to close the arguments of STARTSWITH, found the end of the expression",
		"      rule: HTTP.REQ.URL.PATH.STARTSWITH(\"/admin\" && true\n" + strings.Repeat(" ", 4+57) + "^",
		"authdev.yaml:13:23: policy \"typo\": AAA.USER has no property \"IS_MEMBR_OF\"",
		"(did you mean IS_MEMBER_OF?)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("error lacks %q:\n%s", want, got)
		}
	}
}

func TestErrorsInMultiLineRulesPointIntoTheRightLine(t *testing.T) {
	tests := []struct {
		name string
		rule string
		line int
		col  int
	}{
		{"a literal block", "|\n        HTTP.REQ.URL.PATH.STARTSWITH(\"/a\") &&\n        AAA.USER.IS_MEMBR_OF(\"admin\")", 12, 18},
		{"a folded plain scalar", "HTTP.REQ.URL.PATH.STARTSWITH(\"/a\") &&\n        AAA.USER.IS_MEMBR_OF(\"admin\")", 11, 18},
		{"a double-quoted scalar with escapes", `"HTTP.REQ.HEADER(\"X\").EQ(\"y\") && AAA.USER.IS_MEMBR_OF(\"admin\")"`, 10, 59},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConfig(t, map[string]string{"authdev.yaml": personasYAML + `
proxy:
  policies:
    - name: multi
      rule: ` + tt.rule + `
      action: DENY
`})
			_, err := Compile(cfg)
			errs, ok := err.(config.Errors)
			if !ok || len(errs) != 1 {
				t.Fatalf("want one problem, got %v", err)
			}
			if p := errs[0].Pos; p.Line != tt.line || p.Col != tt.col {
				t.Errorf("problem at %d:%d, want %d:%d\n%v", p.Line, p.Col, tt.line, tt.col, err)
			}
			if !strings.Contains(errs[0].Msg, "IS_MEMBR_OF") || !strings.HasSuffix(errs[0].Msg, "^") {
				t.Errorf("message %q lacks the name or the caret", errs[0].Msg)
			}
		})
	}
}

func TestHeaderValuesStayIntactWhenTheResultIsReused(t *testing.T) {
	e := compileYAML(t, `
proxy:
  headers:
    X-Groups: AAA.USER.GROUPS
    X-Who: '"user=" + AAA.USER.NAME + "; ip=" + CLIENT.IP.SRC + "; n=" + AAA.USER.GROUPS.COUNT'
`)
	var res Result
	first := &User{Name: "first@example.com", Groups: []string{"a", "b", "c"}}
	e.Evaluate(newRequest("GET", "/", first), &res)
	kept := slices.Clone(res.Headers)
	want := []HeaderOp{{"insert", "X-Groups", "a,b,c"}, {"insert", "X-Who", "user=first@example.com; ip=192.0.2.10; n=3"}}
	if !reflect.DeepEqual(kept, want) {
		t.Fatalf("headers %+v, want %+v", kept, want)
	}
	// Enough requests to fill and replace the arena several times.
	other := &User{Name: "someone-else@example.com", Groups: []string{"xxxxxxxx", "yyyyyyyy", "zzzzzzzz"}}
	for i := 0; i < 500; i++ {
		e.Evaluate(newRequest("GET", "/", other), &res)
	}
	if !reflect.DeepEqual(kept, want) {
		t.Fatalf("the first request's header values changed to %+v", kept)
	}
}
