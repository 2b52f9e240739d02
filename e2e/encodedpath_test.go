package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// Starlette decodes /%61dmin/users to its /admin/users route; through
// `authdev up` a viewer asking for it is sent to the clean path, where the
// admin-area policy refuses it, so the policy and FastAPI see one path.
func TestAPercentEncodedAdminPathDoesNotPassThePolicyToFastAPI(t *testing.T) {
	s := startStack(t)
	req, _ := http.NewRequest(http.MethodGet, s.appURL+"/%61dmin/users", nil)
	if status, body := do(t, http.DefaultClient, req); status != http.StatusUnauthorized {
		t.Fatalf("FastAPI alone answers /%%61dmin/users with %d, not 401 from its /admin/users route: %s", status, body)
	}
	carol := s.codeGrantToken(t, "carol") // a viewer
	req, _ = http.NewRequest(http.MethodGet, s.proxyURL+"/%61dmin/users", nil)
	req.Header.Set("Authorization", "Bearer "+carol)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "/admin/users" {
		t.Fatalf("the proxy answers %d to %q, want 308 to /admin/users", resp.StatusCode, resp.Header.Get("Location"))
	}
	req, _ = http.NewRequest(http.MethodGet, s.proxyURL+resp.Header.Get("Location"), nil)
	req.Header.Set("Authorization", "Bearer "+carol)
	req.Header.Set("Accept", "application/json")
	if status, body := do(t, s.client, req); status != http.StatusForbidden || !strings.Contains(string(body), "admin-area") {
		t.Fatalf("the clean path answers %d, want 403 from the admin-area policy: %s", status, body)
	}
}
