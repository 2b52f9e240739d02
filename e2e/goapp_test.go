package e2e

import (
	"net/http"
	"testing"
	"time"
)

// TestGoAppBehindAuthdevUp runs examples/goapp behind `authdev up`: the
// identity package must verify the real proxy's assertions, fetching its
// keys over HTTPS with the CA file `authdev ca print` wrote.
func TestGoAppBehindAuthdevUp(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	appURL := "http://127.0.0.1:" + itoa(port)
	s := startAuthdev(t, "--upstream", appURL)
	app := startProcess(t, "goapp", []string{
		"LISTEN=127.0.0.1:" + itoa(port),
		"AUTHDEV_ISSUER=" + s.proxyURL,
		"AUTHDEV_CA_FILE=" + s.caFile,
	}, s.dir, goappBin)
	waitHTTP(t, app, http.DefaultClient, appURL+"/healthz", http.StatusOK, 30*time.Second)

	alice, carol := s.codeGrantToken(t, "alice"), s.codeGrantToken(t, "carol")
	tests := []struct {
		name       string
		url        string
		token      string
		wantStatus int
		wantField  string
		wantValue  string
	}{
		{"alice is who the app says through the proxy", s.proxyURL + "/", alice, 200, "email", "alice@example.com"},
		{"alice lists the users", s.proxyURL + "/admin/users", alice, 200, "requested_by", "alice@example.com"},
		{"carol reads a report", s.proxyURL + "/reports/q3", carol, 200, "reader", "carol@example.com"},
		{"the proxy keeps carol out of the admin area", s.proxyURL + "/admin/users", carol, 403, "", ""},
		{"the app refuses a request that skips the proxy", appURL + "/", "", 401, "error", "missing_assertion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", tt.url, nil)
			req.Header.Set("Accept", "application/json")
			req.Header.Set("X-Remote-User", "mallory@example.com")
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			expectJSON(t, s.client, req, tt.wantStatus, tt.wantField, tt.wantValue)
		})
	}
}
