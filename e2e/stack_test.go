package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// upstreamName is the name `authdev up --upstream URL` gives the backend,
// and so the audience of the assertions it receives.
const upstreamName = "app"

// stack is `authdev up` in front of the FastAPI example.
type stack struct {
	*home
	proxyURL string
	issuer   string // the active environment's issuer
	caPEM    []byte
	caFile   string
	// client trusts authdev's CA, speaks HTTP/1.1 (so header names go on the
	// wire exactly as written) and does not follow redirects.
	client  *http.Client
	authdev *process
	backend *process
	appURL  string
}

// startStack runs the FastAPI example behind `authdev up --upstream`.
func startStack(t *testing.T) *stack {
	t.Helper()
	appPort := freePort(t)
	appURL := "http://127.0.0.1:" + itoa(appPort)
	s := startAuthdev(t, "--upstream", appURL)
	s.appURL = appURL
	s.backend = startProcess(t, "uvicorn", []string{
		"AUTHDEV_ISSUER=" + s.proxyURL,
		"AUTHDEV_AUDIENCE=" + upstreamName,
		"AUTHDEV_CA_FILE=" + s.caFile,
	}, "../examples/fastapi", "/usr/bin/python3", "-m", "uvicorn", "app:app",
		"--host", "127.0.0.1", "--port", itoa(appPort), "--ws", "wsproto")
	waitHTTP(t, s.backend, http.DefaultClient, s.appURL+"/healthz", http.StatusOK, 30*time.Second)
	return s
}

// startAuthdev writes an authdev.yaml (the built-in demo with free ports)
// and starts `authdev up --no-tui --state file` with args, in a private
// HOME and state folder.
func startAuthdev(t *testing.T, args ...string) *stack {
	t.Helper()
	return launchAuthdev(t, "127.0.0.1", nil, args...)
}

// startAuthdevWith is startAuthdev with the demo configuration changed by
// edit.
func startAuthdevWith(t *testing.T, edit func(cfg string) string, args ...string) *stack {
	t.Helper()
	return launchAuthdev(t, "127.0.0.1", edit, args...)
}

// launchAuthdev runs authdev up with the proxy on proxyHost and the demo
// configuration changed by edit (when not nil).
func launchAuthdev(t *testing.T, proxyHost string, edit func(cfg string) string, args ...string) *stack {
	t.Helper()
	s := &stack{home: newHome(t, proxyHost, edit)}
	argv := append([]string{authdevBin, "up", "--no-tui", "--state", "file", "--config", s.config}, args...)
	s.authdev = startProcess(t, "authdev up", s.env, s.dir, argv...)
	// `authdev up` prints "  proxy     URL" and "  idp       ISSUER" once ready.
	s.authdev.waitOutput(t, regexp.MustCompile(`authdev up: ready`), 60*time.Second)
	s.proxyURL = s.authdev.waitOutput(t, regexp.MustCompile(`(?m)^\s+proxy\s+(\S+)$`), time.Second)[1]
	s.issuer = s.authdev.waitOutput(t, regexp.MustCompile(`(?m)^\s+idp\s+(\S+)$`), time.Second)[1]
	if !strings.Contains(s.proxyURL, ":"+itoa(s.proxyPort)) || !strings.Contains(s.issuer, ":"+itoa(s.idpPort)) {
		t.Fatalf("authdev up serves the proxy at %s and the IdP at %s, not on the configured ports %d and %d", s.proxyURL, s.issuer, s.proxyPort, s.idpPort)
	}

	s.caPEM, s.caFile = s.printCA(t)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.caPEM) {
		t.Fatalf("authdev ca print wrote no certificate:\n%s", s.caPEM)
	}
	s.client = &http.Client{
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			// A non-nil empty map turns HTTP/2 off.
			TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	waitHTTP(t, s.authdev, s.client, s.proxyURL+"/.authdev/health", http.StatusOK, 30*time.Second)
	return s
}

// authdevCmd runs another authdev command against the running stack.
func (s *stack) authdevCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	argv := append([]string{authdevBin, "--state", "file", "--config", s.config}, args...)
	return runCmd(t, s.env, argv...)
}
