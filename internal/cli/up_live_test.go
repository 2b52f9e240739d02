package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/testkit"
	"github.com/authdev/authdev/tui"
)

// live is `authdev up` with a stand-in TUI on a config in a temp folder.
type live struct {
	s                      *stack.Stack
	dir, cfgPath, stateDir string
	errOut                 *testkit.Buffer
	client                 *http.Client
}

// startLive runs `authdev up --upstream <echo>` on yaml (and other files
// in the same folder) with a terminal, so the TUI stand-in runs.
func startLive(t *testing.T, yaml string, files map[string]string) *live {
	t.Helper()
	dir := t.TempDir()
	l := &live{dir: dir, cfgPath: filepath.Join(dir, "authdev.yaml"), stateDir: filepath.Join(dir, "state"), errOut: &testkit.Buffer{}}
	files["authdev.yaml"] = yaml
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"AUTHDEV_STATE_DIR": l.stateDir, "AUTHDEV_CONFIG": l.cfgPath}
	f := &Factory{IO: &IO{In: &bytes.Buffer{}, Out: &testkit.Buffer{}, ErrOut: l.errOut, OutIsTerminal: true},
		Getenv: func(k string) string { return env[k] }, Now: time.Now, Version: "test", StateBackend: "file"}
	ready := make(chan *stack.Stack, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	backend := newEchoServer(t)
	cmd := NewCmdUp(f, func(ctx context.Context, o *UpOptions) error {
		o.WatchInterval = 10 * time.Millisecond
		// The TUI stand-in holds the screen until authdev up stops.
		o.RunTUI = func(ctx context.Context, _ *IO, s tui.Stack) error {
			ready <- s.(tuiStack).Stack
			<-ctx.Done()
			return nil
		}
		return upRun(ctx, o)
	})
	cmd.SetArgs([]string{"--upstream", backend})
	go func() { done <- cmd.ExecuteContext(ctx) }()
	select {
	case l.s = <-ready:
	case err := <-done:
		t.Fatalf("authdev up ended: %v\n%s", err, l.errOut)
	case <-time.After(20 * time.Second):
		t.Fatalf("the TUI never started:\n%s", l.errOut)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("authdev up: %v", err)
		}
	})
	l.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: l.s.CA().Pool()}}, Timeout: 10 * time.Second}
	return l
}

// get sends GET path as bob with a bearer token.
func (l *live) get(t *testing.T, path string) int {
	t.Helper()
	tok, err := l.s.Token("bob", "dev")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, l.s.ProxyURL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := l.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitForAudit waits until the audit log matches re.
func (l *live) waitForAudit(t *testing.T, what string, re *regexp.Regexp) {
	t.Helper()
	path := filepath.Join(l.stateDir, "audit.log")
	if testkit.Eventually(testkit.WaitTimeout, func() bool { b, _ := os.ReadFile(path); return re.Match(b) }) {
		return
	}
	b, _ := os.ReadFile(path)
	t.Fatalf("the audit log has no %s:\n%s", what, b)
}

func TestUpWithTheTUIWatchesTheConfigAndLogsToTheDefaultAuditFile(t *testing.T) {
	yaml := strings.Replace(upConfig, "proxy: {listen: 127.0.0.1:0}", "proxy:\n  listen: 127.0.0.1:0\n  policies:\n    - name: no-reports\n      rule: HTTP.REQ.URL.PATH.STARTSWITH(\"/nothing\")\n      action: DENY", 1)
	l := startLive(t, yaml, map[string]string{})
	cfgPath, stateDir, errOut := l.cfgPath, l.stateDir, l.errOut
	auditPath := filepath.Join(stateDir, "audit.log")
	if !strings.Contains(errOut.String(), "  audit     "+auditPath+"\n") || !strings.Contains(errOut.String(), "  config    "+cfgPath) {
		t.Errorf("the banner does not name the audit log %s and the watched config:\n%s", auditPath, errOut)
	}
	get := func(path string) int { t.Helper(); return l.get(t, path) }
	waitFor := func(what string, re *regexp.Regexp) { t.Helper(); l.waitForAudit(t, what, re) }
	if code := get("/reports/q3"); code != http.StatusOK {
		t.Fatalf("before the edit: %d", code)
	}
	waitFor("request line", regexp.MustCompile(`"kind":"request".*"/reports/q3"`))

	if err := saveAsEditorsDo(cfgPath, []byte(strings.Replace(yaml, `"/nothing"`, `"/reports"`, 1))); err != nil {
		t.Fatal(err)
	}
	waitFor("reload notice", regexp.MustCompile(`config reloaded: policies ~no-reports`))
	if code := get("/reports/q3"); code != http.StatusForbidden {
		t.Fatalf("the edited policy does not apply: %d", code)
	}
	// The rule is on line 13 of the file; the broken one keeps the old.
	if err := saveAsEditorsDo(cfgPath, []byte(strings.Replace(yaml, `"/nothing")`, `"/nothing"`, 1))); err != nil {
		t.Fatal(err)
	}
	waitFor("reload error with file:line", regexp.MustCompile(`running config stays: .*authdev\.yaml:13:`))
	if code := get("/reports/q3"); code != http.StatusForbidden {
		t.Fatalf("a broken file changed the running policy: %d", code)
	}
	if strings.Contains(errOut.String(), `"kind":"request"`) {
		t.Errorf("the audit trail went to the screen while the TUI ran:\n%s", errOut)
	}
	if fi, err := os.Stat(auditPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode: %v %v, want 0600", fi.Mode(), err)
	}
}

func TestTheDefaultAuditLogFollowsXDG(t *testing.T) {
	home := t.TempDir()
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"AUTHDEV_STATE_DIR keeps everything of one authdev together", map[string]string{"AUTHDEV_STATE_DIR": filepath.Join(home, "st"), "XDG_STATE_HOME": filepath.Join(home, "xdg")}, filepath.Join(home, "st", "audit.log")},
		{"XDG_STATE_HOME is used when set", map[string]string{"XDG_STATE_HOME": filepath.Join(home, "xdg"), "HOME": home}, filepath.Join(home, "xdg", "authdev", "audit.log")},
		{"otherwise the XDG default under HOME", map[string]string{"HOME": home}, filepath.Join(home, ".local", "state", "authdev", "audit.log")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := defaultAuditLog(func(k string) string { return tt.env[k] })
			if err != nil || got != tt.want {
				t.Fatalf("defaultAuditLog = %q, %v; want %q", got, err, tt.want)
			}
			if fi, err := os.Stat(filepath.Dir(got)); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("folder mode %v %v, want 0700", fi.Mode(), err)
			}
		})
	}
	blocked := filepath.Join(home, "file")
	os.WriteFile(blocked, nil, 0o600)
	if _, err := defaultAuditLog(func(k string) string { return map[string]string{"XDG_STATE_HOME": blocked}[k] }); err == nil || !strings.Contains(err.Error(), "--audit-log") {
		t.Errorf("an unusable folder: %v, want an error that suggests --audit-log", err)
	}
}

func TestProxyRefusesRelyingPartyFlagsWithoutAnIssuer(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"a client ID without an issuer or an ns.conf", []string{"--client-id", "x", "--upstream", "http://127.0.0.1:1"}, "go with --issuer"},
		{"an issuer without a client ID or an ns.conf", []string{"--issuer", "https://idp.example.com", "--upstream", "http://127.0.0.1:1"}, "--issuer needs --client-id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"AUTHDEV_STATE_DIR": t.TempDir()}
			code, _, stderr := run(t, env, append([]string{"--state", "file", "proxy"}, tt.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d: %s", code, stderr)
			}
		})
	}
}

func TestUpAppliesAnEditedNSConf(t *testing.T) {
	const nsconf = `add lb vserver app HTTP 10.0.0.1 80
add authorization policy deny_x "HTTP.REQ.URL.PATH.STARTSWITH(\"/nothing\")" DENY
bind lb vserver app -policyName deny_x -priority 10 -gotoPriorityExpression END -type REQUEST
set tm sessionParameter -defaultAuthorizationAction ALLOW
`
	yaml := strings.Replace(upConfig, "proxy: {listen: 127.0.0.1:0}", "proxy: {listen: 127.0.0.1:0, adc_config: ns.conf}", 1)
	l := startLive(t, yaml, map[string]string{"ns.conf": nsconf})
	if code := l.get(t, "/reports"); code != http.StatusOK {
		t.Fatalf("before the edit: %d", code)
	}
	if err := saveAsEditorsDo(filepath.Join(l.dir, "ns.conf"), []byte(strings.Replace(nsconf, `/nothing`, `/reports`, 1))); err != nil {
		t.Fatal(err)
	}
	l.waitForAudit(t, "ns.conf reload notice", regexp.MustCompile(`"ns.conf reloaded: `+regexp.QuoteMeta(filepath.Join(l.dir, "ns.conf"))+`"`))
	if code := l.get(t, "/reports"); code != http.StatusForbidden {
		t.Fatalf("the edited ns.conf does not apply: %d", code)
	}
	// A command it cannot parse (line 2) keeps the running policies.
	if err := saveAsEditorsDo(filepath.Join(l.dir, "ns.conf"), []byte(strings.Replace(nsconf, `deny_x "HTTP`, `deny_x "HTTP(`, 1))); err != nil {
		t.Fatal(err)
	}
	l.waitForAudit(t, "ns.conf error with file:line", regexp.MustCompile(`running config stays: .*ns\.conf:2`))
	if code := l.get(t, "/reports"); code != http.StatusForbidden {
		t.Fatalf("a broken ns.conf changed the running policy: %d", code)
	}
}

// saveAsEditorsDo replaces a file by renaming a finished temporary file over
// it, as most editors save: these tests are about what a finished edit
// does, and a polling watcher cannot tell a truncated file from an empty
// one (cfgwatch settles such writes; its own test covers that).
func saveAsEditorsDo(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
