package cli

import (
	"strings"
	"testing"
)

func TestVerifyBackendBadUsageExitsTwo(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"the demo has no backend", []string{"verify-backend"}, "no backend to verify: pass --upstream http://127.0.0.1:8000"},
		{"an upstream that is no URL", []string{"verify-backend", "--upstream", "localhost:8000"}, `--upstream "localhost:8000" is not an http(s) URL`},
		{"a relative path", []string{"verify-backend", "--upstream", "http://127.0.0.1:1", "--path", "admin"}, `--path "admin" must start with /`},
		{"an unknown environment", []string{"verify-backend", "--upstream", "http://127.0.0.1:1", "--env", "qa"}, `--env "qa": no such environment: use one of dev, staging, prod`},
		{"an issuer that is no URL", []string{"verify-backend", "--upstream", "http://127.0.0.1:1", "--issuer", "8443"}, `--issuer "8443" is not an http(s) URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, map[string]string{"AUTHDEV_STATE_DIR": t.TempDir()}, tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}
