package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/internal/junit/junittest"
)

// verifyBackendCases are the cases of `authdev verify-backend`, in order.
var verifyBackendCases = []string{"genuine", "spoofed-headers", "foreign-key", "unknown-kid", "alg-none",
	"hs256-public-key", "expired", "not-yet-valid", "wrong-audience", "wrong-issuer", "headers-disagree",
	"replay-after-expiry"}

// verifyBackend runs `authdev verify-backend` against the backend at
// appURL and checks its JUnit report against the schema.
func verifyBackend(t *testing.T, env []string, config, appURL string) (stdout, stderr string, code int) {
	t.Helper()
	report := filepath.Join(t.TempDir(), "backend.xml")
	stdout, stderr, code = runCmd(t, env, authdevBin, "--state", "file", "--config", config, "verify-backend",
		"--upstream", upstreamName+"="+appURL, "--path", "/admin/users", "--junit", report)
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("no JUnit report (exit %d): %v\n%s", code, err, stderr)
	}
	junittest.Validate(t, b)
	return stdout, stderr, code
}

func requireVerdicts(t *testing.T, stdout, verdict string, cases ...string) {
	t.Helper()
	for _, c := range cases {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(c) + `\s.*\s` + regexp.QuoteMeta(verdict) + `$`).MatchString(stdout) {
			t.Errorf("case %s is not %q:\n%s", c, verdict, stdout)
		}
	}
}

// TestVerifyBackendPassesTheFastAPIExampleBehindAuthdevUp: the genuine
// assertion is signed with the key the running `authdev up` publishes,
// and the FastAPI example refuses every forgery.
func TestVerifyBackendPassesTheFastAPIExampleBehindAuthdevUp(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	stdout, stderr, code := verifyBackend(t, s.env, s.config, s.appURL)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	requireVerdicts(t, stdout, "pass", verifyBackendCases...)
	if strings.Contains(stderr, "started one there") {
		t.Errorf("verify-backend started a proxy while authdev up served the keys:\n%s", stderr)
	}
	if !strings.Contains(stdout, "genuine") || !strings.Contains(stdout, "alice: 200") {
		t.Errorf("the genuine case is not alice's 200:\n%s", stdout)
	}
}

// TestVerifyBackendPassesTheGoExampleWithoutAuthdevUp: in CI no proxy
// runs; verify-backend serves the state store's keys at the issuer the
// backend was started with.
func TestVerifyBackendPassesTheGoExampleWithoutAuthdevUp(t *testing.T) {
	t.Parallel()
	rig := newBackendRig(t)
	app := startProcess(t, "goapp", []string{
		"LISTEN=" + strings.TrimPrefix(rig.appURL, "http://"),
		"AUTHDEV_ISSUER=" + rig.proxyURL,
		"AUTHDEV_CA_FILE=" + rig.caFile,
	}, rig.dir, goappBin)
	waitHTTP(t, app, http.DefaultClient, rig.appURL+"/healthz", http.StatusOK, 30*time.Second)
	stdout, stderr, code := verifyBackend(t, rig.env, rig.config, rig.appURL)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	requireVerdicts(t, stdout, "pass", verifyBackendCases...)
	if !strings.Contains(stderr, "no proxy answered at "+rig.proxyURL+": started one there for the run") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestVerifyBackendNamesEveryForgeryATrustingBackendAccepts: a backend
// that reads the identity headers, or else decodes the assertion without
// verifying anything, fails every forgery, each with its fix.
func TestVerifyBackendNamesEveryForgeryATrustingBackendAccepts(t *testing.T) {
	t.Parallel()
	rig := newBackendRig(t)
	trusting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		roles := r.Header.Get("X-Remote-Roles")
		if roles == "" {
			parts := strings.Split(r.Header.Get("X-Authdev-Assertion"), ".")
			var c struct{ Roles []string }
			if len(parts) < 2 {
				http.Error(w, "no identity", http.StatusUnauthorized)
				return
			}
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			json.Unmarshal(payload, &c)
			roles = strings.Join(c.Roles, ",")
		}
		if !strings.Contains(roles, "admin") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.Write([]byte(`{"users": []}`))
	}))
	defer trusting.Close()
	stdout, stderr, code := verifyBackend(t, rig.env, rig.config, trusting.URL)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	requireVerdicts(t, stdout, "pass", "genuine")
	requireVerdicts(t, stdout, "FAIL", verifyBackendCases[1:]...)
	for _, hint := range []string{
		"✗ spoofed-headers: your backend trusted X-Remote-User without the assertion: verify X-Authdev-Assertion, see examples/fastapi",
		"✗ alg-none: your backend accepted an unsigned assertion",
		"✗ headers-disagree: your backend took the caller from the X-Remote-* headers",
		"FAILED: GET /admin/users sent straight to " + trusting.URL + ": 12 cases, 1 passed, 11 failed",
	} {
		if !strings.Contains(stdout, hint) {
			t.Errorf("the report lacks %q:\n%s", hint, stdout)
		}
	}
}

// backendRig is an authdev.yaml (the demo with free ports), its state
// folder and CA, and a free port for a backend; no authdev runs.
type backendRig struct {
	*home
	caFile           string
	proxyURL, appURL string
}

func newBackendRig(t *testing.T) *backendRig {
	t.Helper()
	r := &backendRig{home: newHome(t, "127.0.0.1", nil)}
	_, r.caFile = r.printCA(t)
	r.proxyURL = "https://127.0.0.1:" + itoa(r.proxyPort)
	r.appURL = "http://127.0.0.1:" + itoa(freePort(t))
	return r
}
