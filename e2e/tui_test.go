package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/internal/testkit"
)

// terminal is `authdev up` with its TUI in a tmux pane of a private tmux
// server, read with capture-pane and driven with send-keys, as a person
// at a terminal would.
type terminal struct {
	t        *testing.T
	socket   string
	exitFile string
}

func startTerminal(t *testing.T, dir string, w, h int, env []string, argv ...string) *terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("the TUI test needs tmux: apt-get install tmux (.ci/run installs it)")
	}
	term := &terminal{t: t, socket: fmt.Sprintf("authdev-e2e-%d", os.Getpid()), exitFile: filepath.Join(dir, "exit")}
	var cmd strings.Builder
	cmd.WriteString("env")
	for _, a := range append(env, argv...) {
		cmd.WriteString(" " + shellQuote(a))
	}
	script := cmd.String() + "; echo $? > " + shellQuote(term.exitFile)
	term.tmux("new-session", "-d", "-x", itoa(w), "-y", itoa(h), "-s", "authdev", "sh -c "+shellQuote(script))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- last screen ---\n%s", term.screenOrEmpty())
		}
		_ = exec.Command("tmux", "-L", term.socket, "kill-server").Run()
	})
	return term
}

func (term *terminal) tmux(args ...string) string {
	term.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", term.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		term.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (term *terminal) screenOrEmpty() string {
	out, _ := exec.Command("tmux", "-L", term.socket, "capture-pane", "-p", "-t", "authdev").Output()
	return string(out)
}

// waitScreen polls the pane until cond holds and returns that screen.
func (term *terminal) waitScreen(what string, cond func(screen string) bool) string {
	term.t.Helper()
	var screen string
	var exited []byte
	shown := testkit.Eventually(60*time.Second, func() bool {
		screen = term.screenOrEmpty()
		if cond(screen) {
			return true
		}
		exited, _ = os.ReadFile(term.exitFile)
		return exited != nil
	})
	switch {
	case exited != nil:
		term.t.Fatalf("authdev up exited with status %s while waiting for %s; last screen:\n%s", strings.TrimSpace(string(exited)), what, screen)
	case !shown:
		term.t.Fatalf("the screen never showed %s:\n%s", what, screen)
	}
	return screen
}

// keys types tmux key names one at a time, as separate keystrokes.
func (term *terminal) keys(keys ...string) {
	term.t.Helper()
	for _, k := range keys {
		term.tmux("send-keys", "-t", "authdev", k)
	}
}

// exitStatus waits for `authdev up` to end and returns its exit status.
func (term *terminal) exitStatus() string {
	term.t.Helper()
	var code []byte
	if !testkit.Eventually(30*time.Second, func() bool { code, _ = os.ReadFile(term.exitFile); return len(code) > 0 }) {
		term.t.Fatalf("authdev up did not exit; screen:\n%s", term.screenOrEmpty())
	}
	return strings.TrimSpace(string(code))
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestTUISwitchesPersonaInFrontOfFastAPI runs `authdev up` with its terminal
// UI in tmux in front of the FastAPI example: the screen shows the stack,
// Down + Enter makes bob the active persona, the next browser login reaches
// the backend as bob, and q ends authdev up with status 0.
func TestTUISwitchesPersonaInFrontOfFastAPI(t *testing.T) {
	t.Parallel()
	h := newHome(t, "127.0.0.1", nil)
	env := append(slices.Clone(h.env), "PATH="+os.Getenv("PATH"), "LANG=C.UTF-8", "TERM=tmux-256color")
	proxyURL := "https://127.0.0.1:" + itoa(h.proxyPort)
	appPort := freePort(t)
	appURL := "http://127.0.0.1:" + itoa(appPort)

	term := startTerminal(t, h.dir, 100, 30, env, authdevBin, "up", "--state", "file", "--config", h.config,
		"--as", "alice", "--upstream", appURL)
	screen := term.waitScreen("the persona pane", func(s string) bool { return strings.Contains(s, "Personas in dev") })
	for _, want := range []string{"[dev]", "staging", "prod", "proxy " + proxyURL, "idp http://localhost:" + itoa(h.idpPort),
		"app " + appURL, "● alice", "Bob Builder", "carol@example.com", "Eve Contractor"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the first screen lacks %q:\n%s", want, screen)
		}
	}

	pem, caFile := h.printCA(t)
	caPEM := string(pem)
	backend := startProcess(t, "uvicorn", []string{
		"AUTHDEV_ISSUER=" + proxyURL, "AUTHDEV_AUDIENCE=" + upstreamName, "AUTHDEV_CA_FILE=" + caFile,
	}, "../examples/fastapi", "/usr/bin/python3", "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", itoa(appPort))
	waitHTTP(t, backend, http.DefaultClient, appURL+"/healthz", http.StatusOK, 30*time.Second)

	if who := browserVisit(t, caPEM, proxyURL+"/"); who != "alice" {
		t.Fatalf("before the switch the backend saw %q, want alice", who)
	}
	term.waitScreen("alice's request in the request pane", func(s string) bool {
		return requestRow(s, "alice", "GET", "200") != ""
	})

	term.keys("Down")
	term.keys("Enter")
	screen = term.waitScreen("bob marked active", func(s string) bool { return strings.Contains(s, "● bob") })
	if strings.Contains(screen, "● alice") {
		t.Errorf("alice is still marked active:\n%s", screen)
	}

	if who := browserVisit(t, caPEM, proxyURL+"/"); who != "bob" {
		t.Fatalf("after Down + Enter the backend saw %q, want bob", who)
	}
	term.waitScreen("bob's request in the request pane", func(s string) bool {
		return requestRow(s, "bob", "GET", "200") != ""
	})

	term.keys("q")
	if status := term.exitStatus(); status != "0" {
		t.Fatalf("authdev up exited with status %s after q, want 0", status)
	}
}

// requestRow finds the request pane row of persona with method and status.
func requestRow(screen, persona, method, status string) string {
	for _, l := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.Trim(l, "│┃ "))
		if len(f) >= 6 && f[1] == persona && f[2] == method && strings.Contains(l, " "+status+" ") {
			return l
		}
	}
	return ""
}

// browserVisit is a browser's first visit with a fresh cookie jar: it
// follows the proxy's login redirect through the IdP, which signs the
// active persona in silently, and returns the persona the backend saw.
func browserVisit(t *testing.T, caPEM, url string) string {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		t.Fatal("authdev ca print wrote no certificate")
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
	status, body := do(t, client, req)
	if status != http.StatusOK {
		t.Fatalf("GET %s as a browser: %d %s", url, status, body)
	}
	var who struct {
		Identity struct {
			Persona string `json:"persona"`
		} `json:"identity"`
	}
	if err := json.Unmarshal(body, &who); err != nil {
		t.Fatalf("the backend answered %s", body)
	}
	return who.Identity.Persona
}
