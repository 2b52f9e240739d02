package cli

import (
	"strings"
	"testing"
)

// The proxy redirects /%61dmin/users to /admin/users before any policy
// runs; explain says so and explains the path the policies will see.
func TestADCExplainOfAPercentEncodedPathSaysTheProxyRedirectsIt(t *testing.T) {
	cfg := writeADCConfig(t, explainNSConf)
	stdout, _ := runExit(t, 0, "--config", cfg, "adc", "explain", "--as", "bob", "GET", "/%61dmin/users?x=1")
	for _, want := range []string{
		"the proxy redirects /%61dmin/users?x=1 to /admin/users?x=1 (308 Permanent Redirect) before any policy runs",
		"GET /admin/users?x=1 as bob",
		"decision: DENY (403)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("explain lacks %q:\n%s", want, stdout)
		}
	}
}
