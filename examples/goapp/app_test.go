package main

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/identity/identitytest"
)

func TestRoutes(t *testing.T) {
	p := identitytest.New(t, "app")
	v := p.Verifier(t, identity.Options{Audience: "app"})
	srv := httptest.NewServer(newHandler(v))
	defer srv.Close()

	admin := p.Assertion(t, "alice", "admin")
	viewer := p.Assertion(t, "carol", "viewer")
	tests := []struct {
		name       string
		path       string
		headers    map[string]string
		wantStatus int
		wantJSON   map[string]any
	}{
		{"the health check needs no identity", "/healthz", nil, 200, map[string]any{"status": "ok"}},
		{"the root says who the caller is", "/", map[string]string{identity.Header: viewer}, 200, map[string]any{"email": "carol@example.com", "persona": "carol"}},
		{"the root without an assertion is a 401", "/", nil, 401, map[string]any{"error": "missing_assertion"}},
		{"an identity header without an assertion is not trusted", "/", map[string]string{"X-Remote-User": "alice@example.com", "X-Remote-Roles": "admin"}, 401, map[string]any{"error": "missing_assertion"}},
		{"an admin lists the users", "/admin/users", map[string]string{identity.Header: admin}, 200, map[string]any{"requested_by": "alice@example.com"}},
		{"a viewer may not list the users", "/admin/users", map[string]string{identity.Header: viewer}, 403, map[string]any{"error": "insufficient_role"}},
		{"any caller reads a report: the proxy decides who may", "/reports/q3", map[string]string{identity.Header: viewer}, 200, map[string]any{"report": "q3", "reader": "carol@example.com"}},
		{"a report without an assertion is a 401", "/reports/q3", nil, 401, map[string]any{"error": "missing_assertion"}},
		{"an unknown path is a 404 after authentication", "/nope", map[string]string{identity.Header: viewer}, 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantJSON == nil {
				return
			}
			var got map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.wantJSON {
				if got[k] != want {
					t.Errorf("%s = %v, want %v (body %v)", k, got[k], want, got)
				}
			}
		})
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	c := loadConfig(func(string) string { return "" })
	if c.listen != "127.0.0.1:8000" || c.issuer != "https://127.0.0.1:8443" || c.audience != "app" {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestHTTPClientCAFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string
		want string
	}{
		{"a missing file says how to write it", filepath.Join(dir, "missing.pem"), "authdev ca print"},
		{"a file without a certificate is refused", notPEM, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpClient(tt.file)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestHTTPClientTrustsTheCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pemCert(srv.Certificate().Raw), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := httpClient(caFile)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with the CA trusted: %v", err)
	}
	resp.Body.Close()
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
