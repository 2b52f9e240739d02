package cli

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/internal/junit/junittest"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/stack/stacktest"
	"github.com/authdev/authdev/internal/state"
)

// demoWithChecks is the built-in demo with its checks replaced, written to
// a file in a fresh folder; env points the state store into that folder.
func demoWithChecks(t *testing.T, checks string) (path string, env map[string]string) {
	t.Helper()
	dir := t.TempDir()
	src := string(config.DemoYAML())
	if checks != "" {
		src = src[:strings.Index(src, "checks:")] + "checks:\n" + checks
	}
	path = filepath.Join(dir, "authdev.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, map[string]string{"AUTHDEV_STATE_DIR": filepath.Join(dir, "state")}
}

func TestTestRunsTheDemoChecksAndExitsZero(t *testing.T) {
	path, env := demoWithChecks(t, "")
	junit := filepath.Join(filepath.Dir(path), "rbac.xml")
	code, stdout, stderr := run(t, env, "--state", "file", "--config", path, "test", "--junit", junit)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"policy admin-area", "!  bob GET /admin/users", "ok: 9 checks × 3 environments: 27 run, 27 passed, 0 failed; 1 differ between environments"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if doc := junittest.ReadFile(t, junit); doc.Tests != 27 || doc.Failures != 0 || doc.Errors != 0 || len(doc.Suites) != 3 {
		t.Fatalf("JUnit counts %+v", doc)
	}
	if entries, _ := os.ReadDir(env["AUTHDEV_STATE_DIR"]); len(entries) > 0 {
		t.Errorf("authdev test wrote %d entries into the state store", len(entries))
	}
}

func TestTestExitsOneWithTheReasonWhenAnExpectationFails(t *testing.T) {
	path, env := demoWithChecks(t, "  - {as: bob, request: GET /admin/users, expect: allow}\n  - {as: carol, request: GET /reports/q3, expect: allow, via: bearer}\n")
	junit := filepath.Join(filepath.Dir(path), "rbac.xml")
	code, stdout, _ := run(t, env, "--state", "file", "--config", path, "test", "--junit", junit, "--json")
	if code != ExitFailure {
		t.Fatalf("exit %d, want 1\n%s", code, stdout)
	}
	var doc struct {
		OK      bool
		Summary struct{ Run, Passed, Failed int }
		Results []struct{ Env, Outcome, Policy, Reason string }
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if doc.OK || doc.Summary.Run != 6 || doc.Summary.Passed != 4 || doc.Summary.Failed != 2 {
		t.Fatalf("summary %+v ok %v", doc.Summary, doc.OK)
	}
	j := junittest.ReadFile(t, junit)
	if j.Tests != 6 || j.Failures != 2 {
		t.Fatalf("JUnit counts %+v", j)
	}
	f := j.Suites[1].Cases[0].Failure
	if j.Suites[1].Name != "authdev test staging" || f == nil || f.Message != "expected allow, got deny (403)" || !strings.Contains(f.Text, `denied by policy "admin-area"`) {
		t.Fatalf("the staging failure: %+v", f)
	}
}

func TestTestRefusesBadUsageAndConfigWithExitTwo(t *testing.T) {
	path, env := demoWithChecks(t, "")
	noExpect, _ := demoWithChecks(t, "  - {as: bob, request: GET /, expect: {dev: allow}, envs: [dev, prod]}\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"an unknown environment", []string{"--config", path, "test", "--env", "qa"}, `unknown environment "qa": use one of`},
		{"a check without an expectation where it runs", []string{"--config", noExpect, "test"}, `its expect map has no "prod"`},
		{"--record on the built-in demo", []string{"test", "--record"}, "--record=FILE"},
		{"--proxy with --upstream", []string{"--config", path, "test", "--proxy", "https://127.0.0.1:1", "--upstream", "http://127.0.0.1:2"}, "--proxy tests a running proxy"},
		{"a bad --upstream", []string{"--config", path, "test", "--upstream", "localhost:8000"}, "is not an http(s) URL"},
		{"a remote --proxy-listen", []string{"--config", path, "test", "--proxy-listen", "0.0.0.0:0"}, "not a loopback address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, env, append([]string{"--state", "file"}, tc.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and %q", code, stdout, stderr, tc.want)
			}
		})
	}
}

func TestRecordWritesTheOutcomesIntoTheConfig(t *testing.T) {
	path, env := demoWithChecks(t, "  # reviewed by security\n  - {as: bob, request: GET /admin/users, expect: deny}\n  - {as: eve, request: GET /, expect: 403, envs: [prod]}\n")
	other := filepath.Join(filepath.Dir(path), "baseline.yaml")
	before, _ := os.ReadFile(path)
	if code, _, stderr := run(t, env, "--state", "file", "--config", path, "test", "--record="+other); code != 0 || !strings.Contains(stderr, "recorded 2 expectations in "+other) {
		t.Fatalf("--record=FILE: exit %d: %s", code, stderr)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("--record=FILE changed the config itself")
	}
	if code, _, stderr := run(t, env, "--state", "file", "--config", path, "test", "--record"); code != 0 {
		t.Fatalf("--record: exit %d: %s", code, stderr)
	}
	got, _ := os.ReadFile(path)
	base, _ := os.ReadFile(other)
	if string(got) != string(base) {
		t.Errorf("--record and --record=FILE wrote different configs:\n%s\n---\n%s", got, base)
	}
	for _, want := range []string{"# reviewed by security", "expect: {dev: allow, staging: deny, prod: deny}", "{as: eve, request: GET /, expect: allow, envs: [prod]}", "# Three tenants"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("recorded config lacks %q:\n%s", want, got)
		}
	}
	if code, stdout, _ := run(t, env, "--state", "file", "--config", path, "test"); code != 0 {
		t.Fatalf("the recorded baseline does not pass: exit %d\n%s", code, stdout)
	}
}

func TestTestDrivesARunningProxyAndRestoresIt(t *testing.T) {
	path, env := demoWithChecks(t, "")
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := stacktest.Start(t, stack.Options{Config: cfg, Store: state.NewFile(env["AUTHDEV_STATE_DIR"]), Persona: "eve", Env: "prod"})
	// The IdP of the running stack serves at its own port, which the
	// config's idp.listen must name for bearer tokens.
	cfgText, _ := os.ReadFile(path)
	port := s.IdP().BaseURL()[strings.LastIndex(s.IdP().BaseURL(), ":")+1:]
	os.WriteFile(path, []byte(strings.Replace(string(cfgText), "127.0.0.1:9400", "127.0.0.1:"+port, 1)), 0o644)

	code, stdout, stderr := run(t, env, "--state", "file", "--config", path, "test", "--proxy", s.ProxyURL(), "--env", "dev,staging,prod")
	if code != 0 || !strings.Contains(stdout, "27 passed") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if p, e := s.Active(); p != "eve" || e != "prod" {
		t.Fatalf("active %q in %q after the run, want eve in prod", p, e)
	}
	// Without --env, the environment the developer is in.
	code, stdout, stderr = run(t, env, "--state", "file", "--config", path, "test", "--proxy", s.ProxyURL())
	if code != 0 || !strings.Contains(stdout, "ok: 9 checks × 1 environment: 9 run, 9 passed") || !strings.Contains(stderr, "authdev test: in prod, the active environment of "+s.ProxyURL()) {
		t.Fatalf("without --env: exit %d\n%s\n%s", code, stdout, stderr)
	}
	other := map[string]string{"AUTHDEV_STATE_DIR": t.TempDir()}
	if code, _, stderr := run(t, other, "--state", "file", "--config", path, "test", "--proxy", s.ProxyURL()); code != ExitFailure || !strings.Contains(stderr, "same --state") {
		t.Fatalf("another state store: exit %d, stderr %q", code, stderr)
	}
}

func TestTestThroughAProxyThatDoesNotAnswerSaysSoOnceUpFront(t *testing.T) {
	path, env := demoWithChecks(t, "")
	store := state.NewFile(env["AUTHDEV_STATE_DIR"])
	if _, err := stack.LoadSecrets(store, rand.Reader); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, env, "--state", "file", "--config", path, "test", "--proxy", "https://127.0.0.1:1")
	if code != ExitFailure || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	if !strings.HasPrefix(stderr, "authdev: no authdev proxy answers at https://127.0.0.1:1") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("stderr %q; want one line saying that nothing answers there", stderr)
	}
}

// backend answers every request with handler, and stops with the test.
func backend(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestTestShowsWhatTheBackendSaidWhenACheckFails(t *testing.T) {
	path, env := demoWithChecks(t, "  - {as: alice, request: GET /admin/users, expect: allow, envs: [dev]}\n")
	url := backend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"detail":"Invalid audience"}`))
	})
	junit := filepath.Join(t.TempDir(), "rbac.xml")
	args := []string{"--state", "file", "--config", path, "test", "--upstream", url, "--proxy-listen", "127.0.0.1:0", "--junit", junit}
	code, stdout, stderr := run(t, env, args...)
	if code != ExitFailure {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`alice GET /admin/users\s+dev\s+✗\s+allow\s+deny\s+401\s+backend\s+Invalid audience`).MatchString(stdout) {
		t.Errorf("the table does not show the status and what the backend said:\n%s", stdout)
	}
	if f := junittest.ReadFile(t, junit).Suites[0].Cases[0].Failure; f == nil || f.Message != "expected allow, got deny (401): Invalid audience" {
		t.Errorf("JUnit failure %+v", f)
	}
	_, stdout, _ = run(t, env, append(args, "--json")...)
	var doc struct {
		Results []struct {
			Status int
			Answer string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Results) != 1 || doc.Results[0].Status != 401 || doc.Results[0].Answer != "Invalid audience" {
		t.Errorf("--json results %+v (%v)", doc.Results, err)
	}
}

func TestTestTakesAFreePortWhenProxyListenIsTaken(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	heldURL := "https://" + held.Addr().String()
	// The backend accepts only assertions issued by the proxy at proxy.listen,
	// as the FastAPI example does.
	url := backend(t, func(w http.ResponseWriter, r *http.Request) {
		claims, err := jwtClaims(r.Header.Get(identity.Header))
		if err != nil || claims["iss"] != heldURL {
			http.Error(w, fmt.Sprintf("issuer %v is not %s", claims["iss"], heldURL), http.StatusUnauthorized)
		}
	})
	path, env := demoWithChecks(t, "  - {as: alice, request: GET /, expect: allow, envs: [dev]}\n")
	src, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(src), "127.0.0.1:8443", held.Addr().String(), 1)), 0o644)
	code, stdout, stderr := run(t, env, "--state", "file", "--config", path, "test", "--upstream", url)
	if code != 0 || !strings.Contains(stdout, "1 passed") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, held.Addr().String()+" is taken") {
		t.Errorf("stderr does not say that proxy.listen was taken:\n%s", stderr)
	}
}

func TestTestRunsSignAssertionsWithTheSameKey(t *testing.T) {
	var mu sync.Mutex
	kids := map[string]bool{}
	url := backend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/openapi.json" {
			http.NotFound(w, r) // authdev test asks for the routes, with no assertion
			return
		}
		parts := strings.Split(r.Header.Get(identity.Header), ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
		var h struct{ Kid string }
		json.Unmarshal(raw, &h)
		mu.Lock()
		kids[h.Kid] = true
		mu.Unlock()
	})
	path, env := demoWithChecks(t, "  - {as: alice, request: GET /, expect: allow, envs: [dev]}\n")
	for range 2 {
		if code, stdout, stderr := run(t, env, "--state", "file", "--config", path, "test", "--upstream", url, "--proxy-listen", "127.0.0.1:0"); code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
	}
	if len(kids) != 1 {
		t.Fatalf("two runs signed with keys %v; a backend that cached the first run's JWKS refuses the second's", kids)
	}
	if _, err := state.NewFile(env["AUTHDEV_STATE_DIR"]).Get(stack.AssertionKeyKey); err != nil {
		t.Fatalf("the assertion key is not in the state store: %v", err)
	}
}
