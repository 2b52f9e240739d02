package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// home is one test's own authdev: a private HOME, config folder and state
// store, and the built-in demo config with free ports as authdev.yaml.
type home struct {
	dir    string
	env    []string // the environment every authdev command of the test runs with
	config string
	// The ports the config's IdP and proxy listen on.
	idpPort, proxyPort int
}

// newHome writes the demo config with the proxy listening on proxyHost,
// changed by edit when it is not nil.
func newHome(t *testing.T, proxyHost string, edit func(cfg string) string) *home {
	t.Helper()
	dir := t.TempDir()
	h := &home{dir: dir, config: filepath.Join(dir, "authdev.yaml"), idpPort: freePort(t), proxyPort: freePort(t)}
	h.env = []string{
		"HOME=" + filepath.Join(dir, "home"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"AUTHDEV_STATE_DIR=" + filepath.Join(dir, "state"),
	}
	demo, err := os.ReadFile("../config/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(string(demo), "127.0.0.1:9400", "127.0.0.1:"+itoa(h.idpPort))
	cfg = strings.ReplaceAll(cfg, "listen: 127.0.0.1:8443", "listen: \""+net.JoinHostPort(proxyHost, itoa(h.proxyPort))+"\"")
	if edit != nil {
		cfg = edit(cfg)
	}
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

// printCA runs `authdev ca print`, as a user trusting authdev's CA does,
// and keeps the CA in ca.pem.
func (h *home) printCA(t *testing.T) (pem []byte, file string) {
	t.Helper()
	out, errOut, code := runCmd(t, h.env, authdevBin, "--state", "file", "--config", h.config, "ca", "print")
	if code != 0 || !strings.Contains(out, "BEGIN CERTIFICATE") {
		t.Fatalf("authdev ca print: exit %d, stderr %s", code, errOut)
	}
	file = filepath.Join(h.dir, "ca.pem")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return []byte(out), file
}
