package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDemoBackendBehindAuthdevUp runs `authdev up` without an upstream: the
// embedded demo backend must verify the real proxy's assertions against its
// JWKS, over TLS with authdev's CA, and show the persona.
func TestDemoBackendBehindAuthdevUp(t *testing.T) {
	t.Parallel()
	s := startAuthdev(t)
	ctx := newBrowser(t, s)

	t.Run("a browser login shows the persona and a verified assertion", func(t *testing.T) {
		login(t, ctx, s, "bob")
		attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#who"), "data-persona"))
		if err != nil {
			t.Fatal(err)
		}
		persona := attr.Value
		verified, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#verified")))
		if err != nil {
			t.Fatal(err)
		}
		if persona != "bob" || verified != "assertion verified" {
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("demo page shows persona %q, %q:\n%s", persona, verified, body)
		}
		roles, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#roles")))
		if err != nil {
			t.Fatal(err)
		}
		// bob is in eng and eng-admins: developer and admin in dev.
		if !strings.Contains(roles, "admin") || !strings.Contains(roles, "developer") {
			t.Errorf("roles shown = %q", roles)
		}
		saveScreenshot(t, ctx, "demo-backend.png")
	})

	t.Run("the JSON view carries the verified claims and the injected headers", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.proxyURL+"/reports/q3?format=json", nil)
		req.Header.Set("Authorization", "Bearer "+s.codeGrantToken(t, "carol"))
		req.Header.Set("X-Remote-User", "alice@example.com")
		status, body := do(t, s.client, req)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		var rep struct {
			Verified        bool                `json:"verified"`
			Error           string              `json:"error"`
			Claims          map[string]any      `json:"claims"`
			IdentityHeaders map[string][]string `json:"identity_headers"`
		}
		if err := json.Unmarshal(body, &rep); err != nil {
			t.Fatal(err)
		}
		if !rep.Verified {
			t.Fatalf("the demo backend could not verify the proxy's assertion: %s", rep.Error)
		}
		if rep.Claims["persona"] != "carol" || rep.Claims["aud"] != "demo" || rep.Claims["iss"] != s.proxyURL {
			t.Errorf("claims = %v", rep.Claims)
		}
		if got := rep.IdentityHeaders["X-Remote-User"]; len(got) != 1 || got[0] != "carol@example.com" {
			t.Errorf("X-Remote-User at the demo = %q, want only the proxy's", got)
		}
	})
}
