package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/authdev/authdev/internal/junit/junittest"
)

// TestCoverageOfTheFastAPIExampleIsRequiredThenScaffolded: authdev test
// reads FastAPI's own /openapi.json, fails --require-coverage on the
// routes the demo checks miss, and --scaffold writes checks for them with
// the outcomes of today, after which coverage holds.
func TestCoverageOfTheFastAPIExampleIsRequiredThenScaffolded(t *testing.T) {
	t.Parallel()
	r := startCIBackend(t, "")
	stdout, stderr, code, junit := r.test(t, "--require-coverage")
	if code != 1 {
		t.Fatalf("--require-coverage: exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	for _, env := range []string{"dev", "staging", "prod"} {
		for _, route := range []string{"GET /healthz", "GET /events"} {
			if !regexp.MustCompile(`(?m)^  ` + env + `\s+` + regexp.QuoteMeta(route) + `$`).MatchString(stdout) {
				t.Errorf("%s is not listed as uncovered in %s:\n%s", route, env, stdout)
			}
		}
	}
	if !strings.Contains(stdout, "coverage FAILED: routes covered by checks 3/5 dev, 3/5 staging, 3/5 prod ("+r.appURL+"/openapi.json)") {
		t.Errorf("no coverage line:\n%s", stdout)
	}
	if junit.Tests != 27+15 || junit.Failures != 6 || len(junit.Suites) != 6 {
		t.Errorf("JUnit: %d tests, %d failures, %d suites; want 42, 6, 6", junit.Tests, junit.Failures, len(junit.Suites))
	}
	report, _ := os.ReadFile(filepath.Join(r.dir, "rbac.xml"))
	junittest.Validate(t, report)

	stdout, stderr, code, _ = r.test(t, "--scaffold")
	if code != 0 || !strings.Contains(stderr, "--scaffold: added 8 checks to "+r.config) {
		t.Fatalf("--scaffold: exit %d\n%s\n%s", code, stdout, stderr)
	}
	cfg, _ := os.ReadFile(r.config)
	for _, want := range []string{"# Three tenants whose group names and role mappings differ the way real ones\n", "  - {as: eve, request: GET /healthz, expect: allow}\n",
		"  - {as: alice, request: GET /events, expect: allow}\n"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("the config lacks %q:\n%s", want, cfg)
		}
	}
	stdout, stderr, code, _ = r.test(t, "--require-coverage")
	if code != 0 || !strings.Contains(stdout, "coverage: routes covered by checks 5/5 dev, 5/5 staging, 5/5 prod") {
		t.Fatalf("after --scaffold: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
