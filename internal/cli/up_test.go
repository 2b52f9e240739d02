package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/internal/testkit"
)

// upConfig is a config whose IdP and proxy take free loopback ports.
const upConfig = `
idp: {listen: 127.0.0.1:0}
personas:
  alice: {email: alice@example.com, groups: [admins]}
  bob: {email: bob@example.com, groups: [devs]}
environments:
  dev: {roles: {admins: [admin], devs: [developer]}}
  prod: {roles: {admins: [admin]}}
proxy: {listen: 127.0.0.1:0}
`

// startUp runs `authdev up --no-tui` with args until the test ends and
// returns the printed proxy URL, the environment and the stderr buffer.
func startUp(t *testing.T, args ...string) (proxyURL string, env map[string]string, errOut *testkit.Buffer) {
	return startUpWith(t, upConfig, args...)
}

// startUpWith is startUp with another authdev.yaml.
func startUpWith(t *testing.T, yaml string, args ...string) (proxyURL string, env map[string]string, errOut *testkit.Buffer) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "authdev.yaml")
	os.WriteFile(cfgPath, []byte(yaml), 0o644)
	env = map[string]string{"AUTHDEV_STATE_DIR": filepath.Join(dir, "state"), "AUTHDEV_CONFIG": cfgPath}
	errOut = &testkit.Buffer{}
	f := &Factory{IO: &IO{In: &bytes.Buffer{}, Out: &testkit.Buffer{}, ErrOut: errOut}, Getenv: func(k string) string { return env[k] }, Now: time.Now, Version: "test"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := NewRootCmd(f)
		root.SetArgs(append([]string{"--state", "file", "up", "--no-tui"}, args...))
		done <- root.ExecuteContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("authdev up: %v", err)
		}
		if !strings.Contains(errOut.String(), "authdev up: stopped") {
			t.Errorf("no clean stop:\n%s", errOut.String())
		}
	})
	re := regexp.MustCompile(`(?m)^  proxy     (https://127\.0\.0\.1:\d+)$`)
	var m []string
	ended := false
	testkit.Eventually(20*time.Second, func() bool {
		select {
		case err := <-done:
			done <- err
			ended = true
		default:
		}
		m = re.FindStringSubmatch(errOut.String())
		return m != nil || ended
	})
	if m == nil {
		t.Fatalf("authdev up printed no proxy URL (ended: %t):\n%s", ended, errOut.String())
	}
	return m[1], env, errOut
}

func TestUpPrintsEveryEnvironmentsIssuerHTTPSUnderIdPTLS(t *testing.T) {
	yaml := strings.Replace(upConfig, "idp: {listen: 127.0.0.1:0}", "idp: {listen: 127.0.0.1:0, tls: true}", 1)
	yaml = strings.Replace(yaml, "prod: {roles:", "prod: {flavor: okta, roles:", 1)
	_, _, errOut := startUpWith(t, yaml)
	for _, re := range []string{`(?m)^  idp       https://localhost:\d+/dev$`, `(?m)^  issuer    dev +https://localhost:\d+/dev  \(generic\)$`,
		`(?m)^  issuer    prod +https://localhost:\d+/prod/oauth2/default  \(okta\)$`} {
		if !regexp.MustCompile(re).MatchString(errOut.String()) {
			t.Errorf("stderr lacks %s:\n%s", re, errOut.String())
		}
	}
}

func TestUpPrintsItsURLsServesAndLogsTheAuditTrail(t *testing.T) {
	backend := newEchoServer(t)
	proxy, env, errOut := startUp(t, "--as", "alice", "--upstream", backend)
	for _, want := range []string{"authdev up: ready", "  idp       http://localhost:", "  upstream  app / -> " + backend, "  persona   alice"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
	code, pem, _ := run(t, env, "--state", "file", "ca", "print")
	pool := x509.NewCertPool()
	if code != 0 || !pool.AppendCertsFromPEM([]byte(pem)) {
		t.Fatalf("ca print: exit %d: %q", code, pem)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	resp, err := c.Get(proxy + "/.authdev/health")
	if err != nil {
		t.Fatalf("the proxy's certificate does not verify with `ca print`: %v", err)
	}
	resp.Body.Close()

	code, _, stderr := run(t, env, "--state", "file", "as", "bob", "--env", "prod")
	if code != 0 || !strings.Contains(stderr, "active persona bob in prod") {
		t.Fatalf("as: exit %d: %s", code, stderr)
	}
	resp, _ = c.Get(proxy + "/.authdev/health")
	var h struct{ Persona, Env string }
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h.Persona != "bob" || h.Env != "prod" {
		t.Fatalf("after authdev as: %+v", h)
	}
	if !strings.Contains(errOut.String(), `"kind":"notice"`) || !strings.Contains(errOut.String(), "active persona bob in prod") {
		t.Errorf("the switch is not in the audit trail on stderr:\n%s", errOut.String())
	}
	if code, _, stderr := run(t, env, "--state", "file", "as", "mallory"); code != ExitUsage || !strings.Contains(stderr, "alice, bob") {
		t.Errorf("as mallory: exit %d: %s", code, stderr)
	}
}

func TestUpRefusesBadFlags(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"an unknown environment", []string{"--env", "qa"}, `unknown environment "qa"`},
		{"an unknown persona", []string{"--as", "mallory"}, `unknown persona "mallory"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"AUTHDEV_STATE_DIR": t.TempDir()}
			code, _, stderr := run(t, env, append([]string{"--state", "file", "up", "--no-tui"}, tt.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d: %s", code, stderr)
			}
		})
	}
}

func TestAsWithoutARunningUpSaysSo(t *testing.T) {
	env := map[string]string{"AUTHDEV_STATE_DIR": t.TempDir()}
	code, _, stderr := run(t, env, "--state", "file", "as", "alice")
	if code != ExitFailure || !strings.Contains(stderr, "authdev up") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestCATrustPrintsCommandsItCannotRun(t *testing.T) {
	ios, _, out, errOut := TestIO()
	f := &Factory{IO: ios, Getenv: func(k string) string { return map[string]string{"AUTHDEV_STATE_DIR": t.TempDir()}[k] }, Now: time.Now}
	opts := newCAOptions(f)
	opts.State = f.State
	f.StateBackend = "file"
	opts.Trust.Privileged = false
	opts.Trust.Home = t.TempDir()
	opts.Trust.LookPath = func(string) (string, error) { return "", os.ErrNotExist }
	opts.Trust.System = &pki.SystemStore{Dir: "/usr/local/share/ca-certificates", Update: []string{"update-ca-certificates"}}
	if err := caTrustRun(opts); err != nil {
		t.Fatalf("ca trust: %v\n%s", err, errOut)
	}
	if !strings.Contains(out.String(), "ca print | sudo tee /usr/local/share/ca-certificates/authdev-local-ca.crt") {
		t.Errorf("no system commands on stdout:\n%s", out)
	}
	if !strings.Contains(out.String(), "certutil") || !strings.Contains(errOut.String(), "SHA-256") {
		t.Errorf("stdout %q\nstderr %q", out, errOut)
	}
}

func newEchoServer(t *testing.T) string {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"user": r.Header.Get("X-Remote-User")})
	})}
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func TestUpWithoutATerminalSaysTheTUIIsOffAndStopsNamingWhereItIs(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "authdev.yaml")
	os.WriteFile(cfgPath, []byte(upConfig), 0o644)
	env := map[string]string{"AUTHDEV_STATE_DIR": filepath.Join(dir, "state"), "AUTHDEV_CONFIG": cfgPath}
	errOut := &testkit.Buffer{}
	f := &Factory{IO: &IO{In: &bytes.Buffer{}, Out: &testkit.Buffer{}, ErrOut: errOut}, Getenv: func(k string) string { return env[k] }, Now: time.Now, Version: "test"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		root := NewRootCmd(f)
		root.SetArgs([]string{"--state", "file", "up"})
		done <- root.ExecuteContext(ctx)
	}()
	testkit.WaitFor(t, "authdev up to be ready", func() bool { return strings.Contains(errOut.String(), "authdev up: ready") })
	if code, _, stderr := run(t, env, "--state", "file", "as", "bob", "--env", "prod"); code != 0 {
		t.Fatalf("authdev as: exit %d: %s", code, stderr)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := errOut.String()
	if strings.Count(out, "no TUI") != 1 || !strings.Contains(out, "run it in a terminal for the TUI") {
		t.Errorf("no single line saying the TUI is off and how to get it:\n%s", out)
	}
	if !strings.Contains(out, "authdev up: stopped (in prod as bob)\n") {
		t.Errorf("the shutdown line does not name the environment switched to:\n%s", out)
	}
}
