package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/internal/junit"
	"github.com/authdev/authdev/internal/junit/junittest"
)

// ciRun is the CI recipe of docs/ci.md: the CA printed first, the FastAPI
// example started against the proxy URL that `authdev test` will serve,
// then `authdev test` alone, which starts and stops the IdP and the proxy.
type ciRun struct {
	*home
	appURL string
}

func startCIBackend(t *testing.T, checks string) *ciRun {
	t.Helper()
	var edit func(string) string
	if checks != "" {
		edit = func(cfg string) string { return cfg[:strings.Index(cfg, "checks:")] + "checks:\n" + checks }
	}
	r := &ciRun{home: newHome(t, "127.0.0.1", edit)}
	proxyPort := r.proxyPort
	_, caFile := r.printCA(t)
	appPort := freePort(t)
	r.appURL = "http://127.0.0.1:" + itoa(appPort)
	backend := startProcess(t, "uvicorn", []string{
		"AUTHDEV_ISSUER=https://127.0.0.1:" + itoa(proxyPort),
		"AUTHDEV_AUDIENCE=" + upstreamName,
		"AUTHDEV_CA_FILE=" + caFile,
	}, "../examples/fastapi", "/usr/bin/python3", "-m", "uvicorn", "app:app",
		"--host", "127.0.0.1", "--port", itoa(appPort))
	waitHTTP(t, backend, http.DefaultClient, r.appURL+"/healthz", http.StatusOK, 30*time.Second)
	return r
}

func (r *ciRun) test(t *testing.T, args ...string) (stdout, stderr string, code int, report junit.Suites) {
	t.Helper()
	path := filepath.Join(r.dir, "rbac.xml")
	argv := append([]string{authdevBin, "--state", "file", "--config", r.config, "test", "--upstream", r.appURL, "--junit", path}, args...)
	stdout, stderr, code = runCmd(t, r.env, argv...)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no JUnit report (exit %d): %v\n%s", code, err, stderr)
	}
	return stdout, stderr, code, junittest.ReadFile(t, path)
}

func TestAuthdevTestPassesTheDemoChecksAgainstFastAPI(t *testing.T) {
	t.Parallel()
	r := startCIBackend(t, "")
	stdout, stderr, code, report := r.test(t)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`(?m)^ok: 9 checks × 3 environments: 27 run, 27 passed, 0 failed; 1 differ between environments \(`).MatchString(stdout) {
		t.Errorf("no passing summary line:\n%s", stdout)
	}
	// Allowed requests reached FastAPI, which verified the proxy's
	// assertion; every row names the proxy's deciding policy.
	for _, want := range []string{"allow  200     policy (default)", "deny   403     policy admin-area", "deny   403     policy reports-readers", "!  bob GET /admin/users"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, stdout)
		}
	}
	// Besides a suite per environment, one of route coverage per
	// environment: FastAPI's five routes.
	if report.Tests != 27+15 || report.Failures != 0 || report.Errors != 0 || len(report.Suites) != 6 {
		t.Fatalf("JUnit: %d tests, %d failures, %d errors, %d suites; want 42, 0, 0, 6", report.Tests, report.Failures, report.Errors, len(report.Suites))
	}
	for i, env := range []string{"dev", "staging", "prod"} {
		s := report.Suites[i]
		if s.Name != "authdev test "+env || s.Tests != 9 || len(s.Cases) != 9 || s.Cases[0].ClassName != "authdev."+env {
			t.Errorf("suite %d: %q with %d tests, want %q with 9", i, s.Name, s.Tests, "authdev test "+env)
		}
	}
}

func TestAuthdevTestFailsOnAWrongExpectationAgainstFastAPI(t *testing.T) {
	t.Parallel()
	r := startCIBackend(t, `  - {as: alice, request: GET /admin/users, expect: allow}
  - {name: carol may administer dev, as: carol, request: GET /admin/users, expect: allow, envs: [dev]}
  - {name: bob's token reads the admin area in prod, as: bob, request: GET /admin/users, expect: 200, envs: [prod], via: bearer}
`)
	stdout, stderr, code, report := r.test(t)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "FAILED: 3 checks × 3 environments: 5 run, 3 passed, 2 failed") {
		t.Errorf("no failing summary line:\n%s", stdout)
	}
	// 5 check runs, and FastAPI's 5 routes × 3 environments of coverage.
	if report.Tests != 5+15 || report.Failures != 2 || report.Errors != 0 {
		t.Fatalf("JUnit: %d tests, %d failures, %d errors; want 20, 2, 0", report.Tests, report.Failures, report.Errors)
	}
	failures := map[string]string{}
	for _, s := range report.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil {
				failures[s.Name+": "+c.Name] = c.Failure.Message + " | " + c.Failure.Text
			}
		}
	}
	for name, want := range map[string]string{
		"authdev test dev: carol may administer dev":                           `expected allow, got deny (403) | expected allow, got deny (403) from the proxy: denied by policy "admin-area"`,
		"authdev test prod: bob's token reads the admin area in prod (bearer)": `expected 200, got deny (403) | expected 200, got deny (403) from the proxy: denied by policy "admin-area"`,
	} {
		if got := failures[name]; got != want {
			t.Errorf("failure of %q = %q, want %q", name, got, want)
		}
	}
}

// TestAuthdevTestAndTokenAgainstARunningAuthdevUp drives the `authdev up`
// a developer has open: authdev test switches its environments and puts
// the active one back; authdev token's token passes the proxy to FastAPI.
func TestAuthdevTestAndTokenAgainstARunningAuthdevUp(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	stdout, stderr, code := s.authdevCmd(t, "test", "--proxy", s.proxyURL, "--env", "dev,prod")
	if code != 0 || !strings.Contains(stdout, "ok: 9 checks × 2 environments: 18 run, 18 passed") {
		t.Fatalf("authdev test --proxy: exit %d\n%s\n%s", code, stdout, stderr)
	}
	req, _ := http.NewRequest(http.MethodGet, s.proxyURL+"/.authdev/health", nil)
	if status, body := do(t, s.client, req); status != 200 || !strings.Contains(string(body), `"env": "dev"`) {
		t.Fatalf("after the run the proxy is not back in dev: %d %s", status, body)
	}
	for _, tc := range []struct {
		persona, env string
		want         int
	}{{"alice", "dev", 200}, {"carol", "dev", 403}} {
		tok, stderr, code := s.authdevCmd(t, "token", "--as", tc.persona, "--env", tc.env)
		if code != 0 || stderr != "authdev token: "+tc.persona+" in "+tc.env+" (--env), issuer "+strings.Replace(s.issuer, "/dev", "/"+tc.env, 1)+"\n" {
			t.Fatalf("authdev token --as %s: exit %d: %q", tc.persona, code, stderr)
		}
		req, _ := http.NewRequest(http.MethodGet, s.proxyURL+"/admin/users", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
		req.Header.Set("Accept", "application/json")
		if status, body := do(t, s.client, req); status != tc.want {
			t.Errorf("%s's token at /admin/users: %d %s, want %d", tc.persona, status, body, tc.want)
		}
	}
}

// TestInitThenTestAgainstTheFastAPIExample is a newcomer's first config:
// `authdev init`, the FastAPI example with its defaults (audience "app"),
// then `authdev test`. Only the fixed ports of the written file are moved
// to free ones.
func TestInitThenTestAgainstTheFastAPIExample(t *testing.T) {
	dir := t.TempDir()
	env := []string{"HOME=" + filepath.Join(dir, "home"), "AUTHDEV_STATE_DIR=" + filepath.Join(dir, "state")}
	config := filepath.Join(dir, "authdev.yaml")
	if _, stderr, code := runCmd(t, env, authdevBin, "--config", config, "init"); code != 0 {
		t.Fatalf("authdev init: exit %d: %s", code, stderr)
	}
	written, _ := os.ReadFile(config)
	proxyAddr, appAddr := "127.0.0.1:"+itoa(freePort(t)), "127.0.0.1:"+itoa(freePort(t))
	moved := strings.NewReplacer("127.0.0.1:8443", proxyAddr, "127.0.0.1:8000", appAddr,
		"127.0.0.1:9400", "127.0.0.1:"+itoa(freePort(t))).Replace(string(written))
	if moved == string(written) {
		t.Fatal("authdev init no longer writes the default ports this test moves")
	}
	os.WriteFile(config, []byte(moved), 0o600)
	caPEM, stderr, code := runCmd(t, env, authdevBin, "--config", config, "ca", "print")
	if code != 0 {
		t.Fatalf("authdev ca print: exit %d: %s", code, stderr)
	}
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, []byte(caPEM), 0o600)
	backend := startProcess(t, "uvicorn", []string{"AUTHDEV_ISSUER=https://" + proxyAddr, "AUTHDEV_CA_FILE=" + caFile},
		"../examples/fastapi", "/usr/bin/python3", "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", appAddr[strings.LastIndex(appAddr, ":")+1:])
	waitHTTP(t, backend, http.DefaultClient, "http://"+appAddr+"/healthz", http.StatusOK, 30*time.Second)
	stdout, stderr, code := runCmd(t, env, authdevBin, "--config", config, "test")
	if code != 0 || !strings.Contains(stdout, "ok: 2 checks × 2 environments: 4 run, 4 passed") {
		t.Fatalf("authdev test: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Under another upstream name the assertion's audience is wrong: the
	// report says what FastAPI answered.
	stdout, stderr, code = runCmd(t, env, authdevBin, "--config", config, "test", "--upstream", "api=http://"+appAddr, "--env", "dev")
	said := regexp.MustCompile(`alice GET /admin/users\s+dev\s+✗\s+allow\s+deny\s+401\s+backend\s+assertion audience is not 'app': set AUTHDEV_AUDIENCE`)
	if code != 1 || !strings.Contains(stdout, "BACKEND SAID") || !said.MatchString(stdout) {
		t.Fatalf("authdev test --upstream api=…: exit %d; want 1 and FastAPI's reason in the table\n%s\n%s", code, stdout, stderr)
	}
}
