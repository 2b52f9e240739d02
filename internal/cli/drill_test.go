package cli

import (
	"strings"
	"testing"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/stack/stacktest"
	"github.com/authdev/authdev/internal/state"
)

func TestDrillRunsOnTheRunningUpAndReportsWhatIsInEffect(t *testing.T) {
	path, env := demoWithChecks(t, "")
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := stacktest.Start(t, stack.Options{Config: cfg, Store: state.NewFile(env["AUTHDEV_STATE_DIR"])})
	drill := func(args ...string) (int, string, string) {
		return run(t, env, append([]string{"--state", "file", "--config", path, "drill"}, args...)...)
	}
	code, stdout, stderr := drill("skew-clock", "-90s")
	if code != 0 || !strings.Contains(stderr, "authdev drill: the IdP's clock is -1m30s off") || !strings.Contains(stdout, "clock skew -1m30s") {
		t.Fatalf("skew-clock: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, _ = drill("--json", "idp-down", "1m"); code != 0 || !strings.Contains(stdout, `"idp_down_until"`) {
		t.Fatalf("idp-down --json: exit %d\n%s", code, stdout)
	}
	if st := s.DrillState(); st.IdPDownUntil == nil || st.ClockSkew != "-1m30s" {
		t.Fatalf("the stack's drills: %+v", st)
	}
	if code, stdout, _ = drill("reset"); code != 0 || stdout != "clock skew 0s\n" {
		t.Fatalf("reset: exit %d, %q", code, stdout)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"flood"}, ExitUsage, `no drill "flood": use one of expire-sessions, idp-down, jwks-down, reset, rotate-keys, skew-clock, token-lifetime, status`},
		{nil, ExitUsage, "authdev drill takes NAME [DURATION]"},
		{[]string{"idp-down"}, ExitFailure, `drill "idp-down" needs a duration`},
	} {
		if code, _, stderr := drill(tt.args...); code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("drill %q: exit %d, %q; want %d and %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
	other := map[string]string{"AUTHDEV_STATE_DIR": t.TempDir()}
	if code, _, stderr := run(t, other, "--state", "file", "--config", path, "drill", "status"); code != ExitFailure || !strings.Contains(stderr, "same --state") {
		t.Errorf("another state store: exit %d, %q", code, stderr)
	}
}
