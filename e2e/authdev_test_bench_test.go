package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/internal/rbactest"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/internal/testkit"
)

// benchChecks are n checks over the demo's personas and policies, with the
// outcomes the demo's role mappings give, half of them as bearer tokens.
func benchChecks(n int) string {
	type want struct{ path, expect string }
	byPersona := map[string][]want{
		"alice": {{"/admin/users", "allow"}, {"/reports/q%d", "allow"}, {"/", "allow"}},
		"bob":   {{"/admin/users", "{dev: allow, staging: deny, prod: deny}"}, {"/reports/q%d", "allow"}, {"/", "allow"}},
		"carol": {{"/admin/users", "deny"}, {"/reports/q%d", "allow"}, {"/", "allow"}},
		"eve":   {{"/admin/users", "deny"}, {"/reports/q%d", "deny"}, {"/", "allow"}},
	}
	personas := []string{"alice", "bob", "carol", "eve"}
	var b strings.Builder
	for i := range n {
		p := personas[i%4]
		w := byPersona[p][(i/4)%3]
		path := w.path
		if strings.Contains(path, "%d") {
			path = fmt.Sprintf(path, i)
		}
		via := "session"
		if i%2 == 1 {
			via = "bearer"
		}
		fmt.Fprintf(&b, "  - {name: check %d, as: %s, request: GET %s, expect: %s, via: %s}\n", i, p, path, w.expect, via)
	}
	return b.String()
}

// BenchmarkRun200ChecksX3Envs is `authdev test` with 200 checks in the
// demo's three environments against the FastAPI example: the in-process
// IdP and proxy started, 600 checks (logins and token grants included),
// stopped. The keys are in the store already, as after `authdev ca print`.
func BenchmarkRun200ChecksX3Envs(b *testing.B) {
	src := string(config.DemoYAML())
	src = src[:strings.Index(src, "checks:")] + "checks:\n" + benchChecks(200)
	cfg, err := config.Parse([]byte(src), "bench.yaml", b.TempDir(), config.Options{})
	if err != nil {
		b.Fatal(err)
	}
	store := state.NewMemory()
	ca, err := pki.LoadOrCreate(store, time.Now, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	caFile := filepath.Join(b.TempDir(), "ca.pem")
	os.WriteFile(caFile, ca.CertPEM(), 0o600)
	proxyAddr := testkit.FreeLoopbackAddr(b)
	appURL := startFastAPI(b, "https://"+proxyAddr, caFile)
	cases, err := rbactest.Plan(cfg, nil)
	if err != nil || len(cases) != 600 {
		b.Fatalf("%d cases, %v", len(cases), err)
	}
	for b.Loop() {
		ip, err := rbactest.StartInProcess(rbactest.InProcessOptions{Config: cfg, Store: store, Upstream: appURL, ProxyListen: proxyAddr})
		if err != nil {
			b.Fatal(err)
		}
		results := rbactest.Run(context.Background(), ip, cases, rbactest.Options{})
		if err := ip.Close(); err != nil {
			b.Fatal(err)
		}
		for _, r := range results {
			if !r.Pass {
				b.Fatalf("%s in %s: %s", r.Name, r.Env, r.Reason)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
}

// startFastAPI runs the FastAPI example verifying assertions from issuer
// until the benchmark ends, and returns its URL.
func startFastAPI(b *testing.B, issuer, caFile string) string {
	b.Helper()
	addr := testkit.FreeLoopbackAddr(b)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("/usr/bin/python3", "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", port, "--log-level", "warning")
	cmd.Dir = "../examples/fastapi"
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "AUTHDEV_ISSUER=" + issuer,
		"AUTHDEV_AUDIENCE=" + upstreamName, "AUTHDEV_CA_FILE=" + caFile}
	var out testkit.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting uvicorn: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	url := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case <-done:
			b.Fatalf("uvicorn exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("uvicorn did not answer:\n%s", out.String())
		}
	}
}
