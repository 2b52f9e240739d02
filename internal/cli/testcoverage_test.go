package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authdev/authdev/internal/junit/junittest"
)

const reportsDoc = "../openapi/testdata/reports-3.1.json"

func TestTestListsTheRoutesNoCheckCoversFromAnOpenAPIFile(t *testing.T) {
	path, env := demoWithChecks(t, "  - {as: bob, request: GET /reports/q3, envs: [dev], expect: allow}\n")
	junitFile := filepath.Join(t.TempDir(), "rbac.xml")
	code, stdout, stderr := run(t, env, "--config", path, "test", "--proxy-listen", "127.0.0.1:0", "--openapi", reportsDoc, "--junit", junitFile)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Routes no check covers", "  dev      DELETE /reports/{name}", "  prod     GET /reports/{name}",
		"coverage: routes covered by checks 1/4 dev, 0/4 staging, 0/4 prod (" + reportsDoc + ")"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	xml, err := os.ReadFile(junitFile)
	if err != nil {
		t.Fatal(err)
	}
	junittest.Validate(t, xml)
	if !strings.Contains(string(xml), `<testsuite name="authdev coverage dev" tests="4" failures="0" errors="0" skipped="3"`) {
		t.Errorf("JUnit lacks the coverage suite:\n%s", xml)
	}

	code, stdout, stderr = run(t, env, "--config", path, "test", "--proxy-listen", "127.0.0.1:0", "--openapi", reportsDoc, "--require-coverage", "--json")
	if code != ExitFailure {
		t.Fatalf("--require-coverage: exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	var doc struct {
		OK       bool
		Coverage struct {
			Required bool
			Envs     []struct {
				Env       string
				Covered   int
				Uncovered []struct{ Method, Path string }
			} `json:"environments"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err, stdout)
	}
	if doc.OK || !doc.Coverage.Required || len(doc.Coverage.Envs) != 3 || doc.Coverage.Envs[0].Covered != 1 || len(doc.Coverage.Envs[0].Uncovered) != 3 {
		t.Errorf("JSON coverage: %+v", doc)
	}
}

func TestCoverageUsageErrorsExitTwo(t *testing.T) {
	path, env := demoWithChecks(t, "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"required with no backend to ask", []string{"test", "--require-coverage"},
			"--require-coverage needs the backend's OpenAPI document, and there is no backend to read it from: pass --openapi URL|FILE"},
		{"a document that is not there", []string{"--config", path, "test", "--openapi", "missing.json"}, "--openapi: no OpenAPI document: missing.json does not exist"},
		{"scaffolding the built-in demo", []string{"test", "--scaffold"}, "--scaffold writes into the config file"},
		{"scaffold and record at once", []string{"--config", path, "test", "--scaffold", "--record"}, "--scaffold writes into the config file: run it without --record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, env, tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}
