package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDrillsOnARunningAuthdevUp drives `authdev drill` against the real
// `authdev up` in front of the FastAPI example: an IdP clock ten minutes
// behind mints tokens that have expired by the proxy's clock (5-minute
// lifetime), which it refuses; after a reset the same request passes to
// FastAPI again; while the IdP is down its discovery document drops the
// connection.
func TestDrillsOnARunningAuthdevUp(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	adminUsers := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.proxyURL+"/admin/users", nil)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		status, _ := do(t, s.client, req)
		return status
	}
	drill := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := s.authdevCmd(t, append([]string{"drill"}, args...)...)
		if code != 0 {
			t.Fatalf("authdev drill %q: exit %d: %s", args, code, stderr)
		}
		return stdout + stderr
	}

	if out := drill("skew-clock", "-10m"); !strings.Contains(out, "the IdP's clock is -10m0s off") {
		t.Fatalf("skew-clock: %s", out)
	}
	if status := adminUsers(s.codeGrantToken(t, "alice")); status != http.StatusUnauthorized {
		t.Errorf("a token issued ten minutes behind: %d, want 401 from the proxy", status)
	}
	drill("reset")
	if status := adminUsers(s.codeGrantToken(t, "alice")); status != http.StatusOK {
		t.Errorf("after reset: %d, want 200 from FastAPI", status)
	}

	if out := drill("idp-down", "30s"); !strings.Contains(out, "IdP down until") {
		t.Fatalf("idp-down: %s", out)
	}
	discovery := s.issuer + "/.well-known/openid-configuration"
	if resp, err := http.Get(discovery); err == nil {
		resp.Body.Close()
		t.Errorf("the IdP answered %s while down", resp.Status)
	}
	drill("reset")
	resp, err := http.Get(discovery)
	if err != nil {
		t.Fatalf("after reset: %v", err)
	}
	resp.Body.Close()

	// Checks under drills, through the running proxy's control endpoint.
	cfg, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	text := string(cfg)
	drills := filepath.Join(s.dir, "drills.yaml")
	os.WriteFile(drills, []byte(text[:strings.Index(text, "checks:")]+`checks:
  - {as: alice, request: GET /admin/users, expect: allow, drill: expired-session}
  - {as: carol, request: GET /reports/q3, expect: allow, drill: idp-down}
  - {as: alice, request: GET /admin/users, expect: allow, drill: rotated-keys, via: bearer}
`), 0o600)
	stdout, stderr, code := runCmd(t, s.env, authdevBin, "--state", "file", "--config", drills, "test", "--proxy", s.proxyURL, "--env", "dev")
	if code != 0 || !strings.Contains(stdout, "3 run, 3 passed") {
		t.Fatalf("authdev test --proxy with drills: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
