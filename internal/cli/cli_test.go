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

// runExit runs authdev with args and fails the test unless it exits with
// want; it returns stdout and stderr.
func runExit(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	code, stdout, stderr := run(t, nil, args...)
	if code != want {
		t.Fatalf("%v: exit %d, want %d: %s", args, code, want, stderr)
	}
	return stdout, stderr
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
	_, stderr := runExit(t, ExitUsage, "--config", p, "config", "validate")
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

func TestConfigValidateReportsEveryKindOfProblemInOneRun(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "authdev.yaml")
	os.WriteFile(p, []byte(`idp:
  flavr: okta
personas:
  alice: {email: alice@example.com, groups: [admins]}
proxy:
  upstreams:
    - {name: api, targets: ["http://127.0.0.1:8000"], lb: roundrobbin}
  policies:
    - name: admin-area
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/admin") && !AAA.USER.IS_MEMBR_OF("admin")
      action: DENY
  adc_config: missing.conf
checks:
  - {as: bob, request: GET /admin, expect: deny}
`), 0o644)
	code, _, stderr := run(t, nil, "--config", p, "config", "validate")
	if code != ExitUsage {
		t.Fatalf("exit %d, want 2:\n%s", code, stderr)
	}
	for _, want := range []string{
		`authdev.yaml:2:3: unknown key "flavr" (did you mean "flavor"?)`,
		`authdev.yaml:7:59: upstream "api" lb "roundrobbin"`,
		`authdev.yaml:10:65: policy "admin-area": AAA.USER has no property "IS_MEMBR_OF"`,
		`missing.conf`,
		`authdev.yaml:14:10: check "bob GET /admin": unknown persona "bob": use one of alice`,
		"authdev: 5 config problems",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestAnUnknownPersonaIsWordedOneWayEverywhere(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "authdev.yaml")
	os.WriteFile(p, []byte("personas:\n  alice: {}\n  bob: {}\nchecks:\n  - {as: bobb, request: GET /, expect: allow}\n"), 0o644)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("personas:\n  alice: {}\n  bob: {}\n"), 0o644)
	const want = `unknown persona "bobb" (did you mean "bob"?): use one of alice, bob`
	env := map[string]string{"AUTHDEV_STATE_DIR": filepath.Join(dir, "state")}
	for _, args := range [][]string{
		{"--config", p, "config", "validate"},
		{"--config", good, "token", "--as", "bobb"},
		{"--config", good, "as", "bobb"},
		{"--config", good, "up", "--no-tui", "--as", "bobb"},
		{"--config", good, "adc", "explain", "--as", "bobb", "GET", "/"},
	} {
		code, _, stderr := run(t, env, append([]string{"--state", "file"}, args...)...)
		if code != ExitUsage || strings.Count(stderr, want) != 1 {
			t.Errorf("authdev %s: exit %d, stderr %q; want exit 2 and %q once", strings.Join(args[2:], " "), code, stderr, want)
		}
	}
}

func TestCompletionKnowsThePersonasEnvironmentsAndClientsOfTheConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "team.yaml")
	os.WriteFile(p, []byte(`idp:
  clients: [{id: spa, redirect_uris: ["http://localhost:5173/cb"]}]
personas: {alice: {name: Alice Admin}, albert: {}, bob: {}}
environments: {dev: {}, prod: {flavor: entra}}
`), 0o644)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"token", "--as", "al"}, []string{"alice\tAlice Admin", "albert\tAlbert"}},
		{[]string{"token", "--env", ""}, []string{"dev\tgeneric", "prod\tentra"}},
		{[]string{"token", "--client", ""}, []string{"authdev-cli\tbuilt in", "spa"}},
		{[]string{"up", "--as", "b"}, []string{"bob\tBob"}},
		{[]string{"test", "--env", "p"}, []string{"prod\tentra"}},
		{[]string{"as", ""}, []string{"alice\tAlice Admin", "albert\tAlbert", "bob\tBob", "-\tthe IdP's picker"}},
		{[]string{"as", "bob", "--env", "d"}, []string{"dev\tgeneric"}},
		{[]string{"as", "bob", ""}, nil},
	} {
		code, stdout, stderr := run(t, map[string]string{"AUTHDEV_CONFIG": p}, append([]string{"__complete"}, tt.args...)...)
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		got, directive := lines[:len(lines)-1], lines[len(lines)-1]
		if code != 0 || directive != ":4" || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("authdev __complete %s: exit %d, %q %s, want %q :4 (stderr %q)", strings.Join(tt.args, " "), code, got, directive, tt.want, stderr)
		}
	}
}

func TestCompletionRefusesAShellItHasNoScriptFor(t *testing.T) {
	code, stdout, stderr := run(t, nil, "completion", "tcsh")
	if code != ExitUsage || stdout != "" || !strings.Contains(stderr, `no completion script for "tcsh": use one of bash, zsh, fish, powershell`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
