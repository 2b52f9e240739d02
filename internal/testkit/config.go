package testkit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/authdev/authdev/config"
)

// noEnv hides the process's environment from config files, so a developer's
// $AUTHDEV_* never changes what a test loads.
func noEnv(string) (string, bool) { return "", false }

// Config parses an authdev.yaml given as text (its relative paths under a
// temporary directory), failing the test on error.
func Config(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "authdev.yaml", t.TempDir(), config.Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("testkit: config: %v", err)
	}
	return cfg
}

// DemoConfig is the built-in configuration `authdev up` runs without a file.
func DemoConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Load("", config.Options{LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("testkit: the built-in config: %v", err)
	}
	return cfg
}

// LoadFile loads an authdev.yaml from path as `authdev up` does, without
// the process's environment.
func LoadFile(path string) (*config.Config, error) {
	return config.Load(path, config.Options{LookupEnv: noEnv})
}

// WriteFiles writes files (name to content, names relative to dir) and
// returns dir.
func WriteFiles(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// RolesYAML is a small authdev.yaml to edit in tests: alice an admin and
// bob a reader in one environment, a plain-HTTP proxy with upstream "api"
// at the placeholder BACKEND, and a policy that keeps all but admins out
// of /admin.
const RolesYAML = `personas:
  alice: {email: alice@example.com, groups: [eng-admins]}
  bob: {email: bob@example.com, groups: [eng]}
environments:
  dev: {roles: {eng-admins: [admin], eng: [reader]}}
proxy:
  tls: false
  upstreams:
    - {name: api, targets: ["BACKEND"]}
  policies:
    - name: admin-area
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/admin") && !AAA.USER.IS_MEMBER_OF("admin")
      action: DENY
`
