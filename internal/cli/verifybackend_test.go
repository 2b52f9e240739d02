package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
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

func TestWithoutPathOrChecksTheFirstRefusedOpenAPIRouteIsUsed(t *testing.T) {
	doc, err := os.ReadFile(reportsDoc)
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case openAPIPath:
			w.Write(doc)
		case "/reports/q3": // public
			w.Write([]byte("{}"))
		default:
			http.Error(w, "who are you?", http.StatusUnauthorized)
		}
	}))
	defer backend.Close()
	if got := openAPIProtectedPath(context.Background(), backend.URL); got != "/teams/platform/members/7" {
		t.Errorf("path %q, want the first GET route refused without identity", got)
	}
	if got := openAPIProtectedPath(context.Background(), "http://127.0.0.1:1"); got != "/" {
		t.Errorf("no backend: %q", got)
	}
}
