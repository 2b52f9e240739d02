package stack

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authdev/authdev/internal/testkit"
)

// Under idp.tls the stack's IdP serves HTTPS from the local CA, every
// issuer is https://localhost:<port>/..., and the proxy, trusting that CA,
// still logs a browser in through it.
func TestIdPTLSServesHTTPSIssuersThatTheProxyLogsInThrough(t *testing.T) {
	cfg := testkit.DemoConfig(t)
	cfg.IDP.TLS = true
	s := startUp(t, Options{Config: cfg, Persona: "carol"})
	for _, e := range cfg.Environments {
		if iss := s.IdP().Issuer(e.Name); !strings.HasPrefix(iss, "https://localhost:") {
			t.Errorf("issuer of %s: %s, want https://localhost:<port>/...", e.Name, iss)
		}
	}
	c := s.client(t)
	var disc struct{ Issuer string }
	if code := getJSON(t, c, s.IdP().Endpoints("dev").Discovery, nil, &disc); code != http.StatusOK || disc.Issuer != s.IdP().Issuer("dev") {
		t.Fatalf("discovery over TLS: %d %+v", code, disc)
	}
	if code := getJSON(t, c, s.ProxyURL()+"/reports/q3", nil, nil); code != http.StatusOK {
		t.Fatalf("browser login through the HTTPS IdP: %d", code)
	}
}
