package rbactest

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/junit/junittest"
	"github.com/authdev/authdev/internal/openapi"
	"github.com/authdev/authdev/internal/testkit"
)

func reportRoutes(t *testing.T) []openapi.Route {
	t.Helper()
	rs, err := openapi.Load(context.Background(), "../openapi/testdata/reports-3.1.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestCoverageListsTheRoutesNoCheckCoversPerEnvironment(t *testing.T) {
	cfg := withChecks(t, `  - {as: bob, request: GET /reports/q3, envs: [dev], expect: allow}
  - {as: alice, request: "GET /teams/platform/members/1?full=1", expect: allow}
`)
	cases, err := Plan(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, required := range []bool{false, true} {
		cov := NewCoverage("openapi.json", reportRoutes(t), cases, cfg.EnvironmentNames(), required)
		if got := cov.Line(); !strings.Contains(got, "routes covered by checks 2/4 dev, 1/4 staging, 1/4 prod (openapi.json)") {
			t.Errorf("line %q", got)
		}
		if cov.OK() == required {
			t.Errorf("required=%v: OK() = %v", required, cov.OK())
		}
		r := Report{Envs: cfg.EnvironmentNames(), Coverage: cov}
		var text, xml bytes.Buffer
		if err := r.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"  staging  GET /reports/{name}", "  dev      DELETE /reports/{name}", "  prod     GET /files/{path}.json"} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("text lacks %q:\n%s", want, text.String())
			}
		}
		if strings.Contains(text.String(), "dev      GET /reports/{name}") {
			t.Errorf("a covered route is listed:\n%s", text.String())
		}
		if err := r.WriteJUnit(&xml); err != nil {
			t.Fatal(err)
		}
		junittest.Validate(t, xml.Bytes())
		failures, skipped := strings.Count(xml.String(), "<failure "), strings.Count(xml.String(), "<skipped ")
		if required && (failures != 8 || skipped != 0) || !required && (failures != 0 || skipped != 8) {
			t.Errorf("required=%v: %d failures, %d skipped in\n%s", required, failures, skipped, xml.String())
		}
	}
}

func TestScaffoldAppendsChecksWithTodaysOutcomesKeepingTheFile(t *testing.T) {
	src := `# my team's config
personas:
  alice: {groups: [eng-admins]}   # the admin
  eve: {groups: [contractors]}
environments:
  dev: {roles: {eng-admins: [admin]}}
checks:
  # the admin area
  - {as: alice, request: GET /teams/platform/members/7, expect: allow}

# the edge
proxy:
  policies:
    - name: reports-readers
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/reports") && !AAA.USER.IS_MEMBER_OF("admin")
      action: DENY
`
	cfg := testkit.Config(t, src)
	cases, err := Plan(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cov := NewCoverage("reports-3.1.json", reportRoutes(t), cases, cfg.EnvironmentNames(), false)
	scaffold := ScaffoldCases(cov, cfg.PersonaIDs(), len(cfg.Checks))
	if len(scaffold) != 6 {
		t.Fatalf("%d scaffold cases, want 3 uncovered routes × 2 personas", len(scaffold))
	}
	ip := startDemo(t, cfg)
	results := Run(context.Background(), ip, scaffold, Options{})
	out, n, err := Scaffold([]byte(src), scaffold, results, cfg.EnvironmentNames())
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("%d checks added, want 6:\n%s", n, out)
	}
	want := `  - {as: alice, request: GET /teams/platform/members/7, expect: allow}
  - {as: alice, request: GET /reports/q3, expect: allow}
  - {as: eve, request: GET /reports/q3, expect: deny}
`
	if !strings.Contains(string(out), want) {
		t.Errorf("the scaffolded checks do not follow the last check:\n%s", out)
	}
	for _, line := range strings.Split(src, "\n") {
		if !strings.Contains(string(out), line) {
			t.Errorf("line %q of the file is gone:\n%s", line, out)
		}
	}
	if !strings.Contains(string(out), "request: GET /files/EDIT-path.json, expect: allow} # scaffolded: replace the EDIT- placeholder") {
		t.Errorf("the placeholder is not marked:\n%s", out)
	}
	if !strings.Contains(string(out), "with a real value\n\n# the edge\nproxy:") {
		t.Errorf("the checks were not inserted before the next key's comment:\n%s", out)
	}
	again, err := config.Parse(out, "authdev.yaml", t.TempDir(), config.Options{})
	if err != nil || len(again.Checks) != 7 {
		t.Fatalf("the scaffolded file does not load with 7 checks: %v", err)
	}
}

func TestScaffoldStartsAChecksListWhenThereIsNone(t *testing.T) {
	src := "personas:\n  alice: {}\n"
	cases := []Case{{Index: 0, Check: &config.Check{As: "alice", Request: "GET /x", Envs: []string{"dev"}}, Env: "dev"}}
	results := []Result{{Index: 0, Env: "dev", Outcome: "allow"}}
	out, n, err := Scaffold([]byte(src), cases, results, []string{"dev"})
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	if got, want := string(out), src+"\nchecks:\n  - {as: alice, request: GET /x, expect: allow}\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
