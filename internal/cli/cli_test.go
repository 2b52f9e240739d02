package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes authdev with args in a fresh folder-independent factory and
// returns the exit code and both streams.
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := TestIO()
	f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }, Version: "v1.2.3"}
	code = Run(f, args)
	return code, out.String(), errOut.String()
}

func TestInitThenValidateSucceeds(t *testing.T) {
	t.Chdir(t.TempDir())
	if code, _, stderr := run(t, nil, "init"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile("authdev.yaml")
	if !strings.HasPrefix(string(b), "# yaml-language-server: $schema=https://") {
		t.Errorf("authdev.yaml does not start with the schema comment:\n%s", b[:80])
	}
	code, stdout, stderr := run(t, nil, "config", "validate")
	if code != 0 || !strings.Contains(stderr, "authdev.yaml: ok") || stdout != "" {
		t.Fatalf("validate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestInitRefusesToOverwriteWithoutForce(t *testing.T) {
	t.Chdir(t.TempDir())
	os.WriteFile("authdev.yaml", []byte("mine"), 0o644)
	code, _, stderr := run(t, nil, "init")
	if code != ExitUsage || !strings.Contains(stderr, "--force") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile("authdev.yaml"); string(b) != "mine" {
		t.Fatal("init overwrote the file")
	}
	if code, _, _ := run(t, nil, "init", "--force"); code != 0 {
		t.Fatalf("init --force: exit %d", code)
	}
	if b, _ := os.ReadFile("authdev.yaml"); string(b) == "mine" {
		t.Fatal("init --force kept the old file")
	}
}

func TestBrokenConfigExitsTwoWithEveryProblem(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "authdev.yaml")
	os.WriteFile(p, []byte("personas:\n  alice: {}\nproxy:\n  upstram: []\nchecks:\n  - {as: bobb, request: GET /, expect: allow}\n"), 0o644)
	code, _, stderr := run(t, nil, "--config", p, "config", "validate")
	if code != ExitUsage {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, w := range []string{p + `:4:3: unknown key "upstram" (did you mean "upstreams"?)`, p + `:6:10: check "bobb GET /": unknown persona "bobb"`} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}

func TestConfigIsFoundThroughTheEnvironment(t *testing.T) {
	t.Chdir(t.TempDir())
	os.WriteFile("custom.yaml", []byte("personas: {zed: {}}\n"), 0o644)
	code, _, stderr := run(t, map[string]string{"AUTHDEV_CONFIG": "custom.yaml"}, "config", "validate")
	if code != 0 || !strings.Contains(stderr, "custom.yaml: ok (1 persona, 1 environment, 0 policies, 0 checks)") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, _, stderr = run(t, nil, "config", "validate")
	if code != 0 || !strings.Contains(stderr, "(built-in demo): ok") {
		t.Fatalf("without a file the demo should be used: exit %d: %s", code, stderr)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{{"bogus"}, {"version", "extra"}, {"--state", "vault", "version"}, {"version", "--nope"}} {
		if code, _, stderr := run(t, nil, args...); code != ExitUsage || stderr == "" {
			t.Errorf("authdev %s: exit %d, stderr %q; want 2 and a message", strings.Join(args, " "), code, stderr)
		}
	}
}

func TestVersionPrintsTheStampedVersionToStdout(t *testing.T) {
	code, stdout, _ := run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "authdev v1.2.3 ") {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
}

func TestSchemaIsPrintedToStdout(t *testing.T) {
	code, stdout, _ := run(t, nil, "config", "schema")
	if code != 0 || !strings.Contains(stdout, `"personas"`) {
		t.Fatalf("exit %d, stdout %.80q", code, stdout)
	}
}

func TestCompletionForEveryShell(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		if code, stdout, _ := run(t, nil, "completion", sh); code != 0 || !strings.Contains(stdout, "authdev") {
			t.Errorf("completion %s: exit %d", sh, code)
		}
	}
}

func TestManWritesAPagePerCommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := run(t, nil, "man", dir); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, page := range []string{"authdev.1", "authdev-init.1", "authdev-config-validate.1"} {
		if _, err := os.Stat(filepath.Join(dir, page)); err != nil {
			t.Errorf("missing man page %s", page)
		}
	}
}
