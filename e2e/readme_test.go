package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeShell runs README blocks as a newcomer's shell does, from the
// repository's root, with what the test must supply: a private HOME and
// state folder, free ports in place of the README's fixed ones (through
// AUTHDEV_CONFIG, the built-in demo with those ports, and the FastAPI
// example's AUTHDEV_ISSUER), and GOBIN in a temporary folder on PATH.
type readmeShell struct {
	dir      string
	env      []string
	replacer *strings.Replacer
	proxyURL string
	appURL   string
}

func newReadmeShell(t *testing.T) *readmeShell {
	t.Helper()
	dir := t.TempDir()
	proxyAddr := "127.0.0.1:" + itoa(freePort(t))
	appPort := itoa(freePort(t))
	demo, err := os.ReadFile("../config/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("127.0.0.1:8443", proxyAddr, "127.0.0.1:9400", "127.0.0.1:"+itoa(freePort(t))).Replace(string(demo))
	config := filepath.Join(dir, "authdev.yaml")
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	sh := &readmeShell{dir: dir, proxyURL: "https://" + proxyAddr, appURL: "http://127.0.0.1:" + appPort}
	sh.env = []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "LANG=C.UTF-8",
		"HOME=" + filepath.Join(dir, "home"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_STATE_HOME=" + filepath.Join(dir, "xdg-state"), "AUTHDEV_STATE_DIR=" + filepath.Join(dir, "state"),
		"AUTHDEV_CONFIG=" + config, "AUTHDEV_ISSUER=" + sh.proxyURL, "GOBIN=" + bin,
	}
	// The Go toolchain keeps its caches where the test's go found them.
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN"} {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", k, err)
		}
		sh.env = append(sh.env, k+"="+strings.TrimSpace(string(out)))
	}
	sh.replacer = strings.NewReplacer(
		"127.0.0.1:8443", proxyAddr,
		"127.0.0.1:8000", "127.0.0.1:"+appPort, "--port 8000", "--port "+appPort,
		"/tmp/authdev-ca.pem", filepath.Join(dir, "authdev-ca.pem"),
	)
	return sh
}

// script is the block with the test's ports and files, stopping at the
// first command that fails.
func (sh *readmeShell) script(text string) string {
	return "set -euo pipefail\n" + sh.replacer.Replace(text)
}

// start runs a block in the background, as a process group that stops
// with the test.
func (sh *readmeShell) start(t *testing.T, name, text string) *process {
	t.Helper()
	return startProcess(t, name, sh.env, "..", "bash", "-c", sh.script(text))
}

// run runs a block to its end.
func (sh *readmeShell) run(t *testing.T, text string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", sh.script(text))
	cmd.Dir, cmd.Env = "..", sh.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// TestTheREADMEWorksAsWritten drives every ```sh block of README.md the
// way a newcomer runs them, in order: the first `go run … up`, the FastAPI
// quick start (go install, the CA, uvicorn, authdev up), then the persona
// switch, a token, curl and `authdev test` against that app. Blocks that
// cannot run here are named with the reason, so that a new block fails
// until it is driven.
func TestTheREADMEWorksAsWritten(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Fatal("the README's quick start needs Debian's /usr/bin/python3 with python3-fastapi: run .ci/run")
	}
	notHere := map[string]string{
		"make bench": "the development targets: `make test` is the suite this test belongs to; the others take minutes",
	}
	sh := newReadmeShell(t)
	driven := map[string]bool{}
	for _, b := range fencedBlocks(t, "../README.md", "sh") {
		first := strings.TrimSpace(strings.SplitN(b.text, "#", 2)[0])
		switch {
		case strings.HasPrefix(b.text, "go run ./cmd/authdev up"):
			driven["go run"] = true
			t.Run("the two commands", func(t *testing.T) { readmeGoRunUp(t, sh, b) })
		case strings.HasPrefix(b.text, "go install ./cmd/authdev") && strings.Contains(b.text, "make build"):
			driven["install"] = true
			t.Run("install", func(t *testing.T) { readmeInstall(t, sh, b) })
		case strings.Contains(b.text, "uvicorn app:app"):
			driven["quick start"] = true
			readmeQuickStart(t, sh, b)
		case strings.HasPrefix(b.text, "authdev as "):
			if !driven["quick start"] {
				t.Fatalf("README.md:%d: the persona switch comes before the quick start it needs", b.line)
			}
			driven["switch"] = true
			readmeSwitch(t, sh, b)
		default:
			reason := ""
			for cmd, why := range notHere {
				if strings.Contains(b.text, cmd) {
					reason = why
				}
			}
			if reason == "" {
				t.Errorf("README.md:%d: a ```sh block no driver runs (%q): drive it in %s", b.line, first, "e2e/readme_test.go")
			}
		}
	}
	for _, want := range []string{"go run", "install", "quick start", "switch"} {
		if !driven[want] {
			t.Errorf("README.md has no %s block any more: update e2e/readme_test.go", want)
		}
	}
}

// readmeGoRunUp runs the first line, `go run ./cmd/authdev up`, until it is
// ready; the second, `make test`, is the suite running this test.
func readmeGoRunUp(t *testing.T, sh *readmeShell, b fencedBlock) {
	lines := strings.Split(strings.TrimSpace(b.text), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "make test") {
		t.Fatalf("README.md:%d: expected `go run ./cmd/authdev up` and `make test`, got:\n%s", b.line, b.text)
	}
	up := sh.start(t, "go run ./cmd/authdev up", lines[0])
	up.waitOutput(t, regexp.MustCompile("authdev up: ready"), 3*time.Minute)
	for _, want := range []string{"  proxy     " + sh.proxyURL, "  upstream  demo", "no TUI"} {
		if !strings.Contains(up.out.String(), want) {
			t.Errorf("go run ./cmd/authdev up printed no %q:\n%s", want, up.out.String())
		}
	}
	up.stop()
	if !strings.Contains(up.out.String(), "authdev up: stopped") {
		t.Errorf("SIGTERM did not stop authdev up cleanly:\n%s", up.out.String())
	}
}

// readmeInstall builds authdev both ways the README says and runs each
// build.
func readmeInstall(t *testing.T, sh *readmeShell, b fencedBlock) {
	stdout, stderr, code := sh.run(t, b.text+"authdev version\n./authdev version\n")
	if code != 0 || strings.Count(stdout, "authdev") < 2 {
		t.Fatalf("README.md:%d: exit %d\n%s\n%s", b.line, code, stdout, stderr)
	}
}

// readmeQuickStart runs the quick start in the background until authdev up
// is ready and the app answers; it stays up for the next blocks.
func readmeQuickStart(t *testing.T, sh *readmeShell, b fencedBlock) {
	p := sh.start(t, "the quick start", b.text)
	p.waitOutput(t, regexp.MustCompile("authdev up: ready"), 3*time.Minute)
	p.waitOutput(t, regexp.MustCompile(regexp.QuoteMeta("upstream  app / -> "+sh.appURL)), time.Second)
	p.waitOutput(t, regexp.MustCompile("Uvicorn running"), time.Minute)
}

// readmeSwitch runs `authdev as bob --env prod`, curl with carol's token,
// and `authdev test` against the quick start's app.
func readmeSwitch(t *testing.T, sh *readmeShell, b fencedBlock) {
	stdout, stderr, code := sh.run(t, b.text)
	if code != 0 {
		t.Fatalf("README.md:%d: exit %d\n%s\n%s", b.line, code, stdout, stderr)
	}
	for _, want := range []string{
		`{"report":"q3","reader":"carol@example.com","env":"prod"}`,
		"ok: 9 checks × 3 environments: 27 run, 27 passed, 0 failed",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("README.md:%d: stdout lacks %q:\n%s", b.line, want, stdout)
		}
	}
	for _, want := range []string{
		"authdev as: active persona bob in prod",
		"authdev token: carol in prod (the active environment of authdev up at " + sh.proxyURL + ")",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("README.md:%d: stderr lacks %q:\n%s", b.line, want, stderr)
		}
	}
}
