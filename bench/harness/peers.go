package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

func (h *harness) startNginx(backendPort int) (string, error) {
	if _, err := exec.LookPath("nginx"); err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			return "", fmt.Errorf("not installed (apt-get install nginx-light)")
		}
	}
	bin := "/usr/sbin/nginx"
	if p, err := exec.LookPath("nginx"); err == nil {
		bin = p
	}
	port := freePort()
	dir := filepath.Join(h.work, "nginx")
	os.MkdirAll(dir, 0o700)
	conf := writeFile(dir, "nginx.conf", fmt.Sprintf(`worker_processes auto;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  upstream backend { server 127.0.0.1:%[2]d; keepalive 64; }
  server {
    listen 127.0.0.1:%[3]d;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`, dir, backendPort, port))
	p, err := h.ps.start("nginx", nil, bin, "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", conf)
	if err != nil {
		return "", err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if _, err := pollUntil200(url+"/", time.Now(), p, 10*time.Second); err != nil {
		return "", err
	}
	return url, nil
}

func (h *harness) startOAuth2Proxy(port int, issuer, backend, bearer string, c32 func(string, ...string) load, path string) error {
	secret := make([]byte, 32)
	rand.Read(secret)
	p, err := h.ps.start("oauth2-proxy", nil, h.o2p,
		fmt.Sprintf("--http-address=127.0.0.1:%d", port),
		"--provider=oidc", "--oidc-issuer-url="+issuer,
		"--client-id=oauth2-proxy", "--client-secret=oauth2-proxy-secret",
		fmt.Sprintf("--redirect-url=http://127.0.0.1:%d/oauth2/callback", port),
		"--cookie-secret="+base64.RawURLEncoding.EncodeToString(secret)[:32], "--cookie-secure=false",
		"--email-domain=*", "--upstream="+backend, "--skip-provider-button=true",
		"--code-challenge-method=S256",
		"--skip-jwt-bearer-tokens=true", "--extra-jwt-issuers="+issuer+"=authdev",
		"--request-logging=false", "--auth-logging=false", "--standard-logging=false")
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if _, err := pollUntil200(url+"/ping", time.Now(), p, 20*time.Second); err != nil {
		return err
	}
	cookie, err := browserLogin(url+"/oauth2/start?rd=%2F", "alice")
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if err := check(url+path, "Cookie: "+cookie); err != nil {
		return fmt.Errorf("cookie session refused: %w", err)
	}
	h.add("oauth2-proxy-cookie", "proxy", "oauth2-proxy v7.15.6, cookie session (OIDC login at authdev idp) → backend", c32(url+path, "Cookie: "+cookie))
	if err := check(url+path, "Authorization: Bearer "+bearer); err != nil {
		h.miss("oauth2-proxy bearer: %v", err)
	} else {
		h.add("oauth2-proxy-bearer", "proxy", "oauth2-proxy v7.15.6, --skip-jwt-bearer-tokens, ES256 bearer → backend", c32(url+path, "Authorization: Bearer "+bearer))
	}
	return nil
}

func (h *harness) startFastAPI(cfg string, c32 func(string, ...string) load) error {
	if _, err := os.Stat(filepath.Join(h.fastapiDir, "app.py")); err != nil {
		return fmt.Errorf("no %s/app.py", h.fastapiDir)
	}
	port, pxPort := freePort(), freePort()
	app := fmt.Sprintf("http://127.0.0.1:%d", port)
	pxURL := fmt.Sprintf("http://127.0.0.1:%d", pxPort)
	p, err := h.ps.start("uvicorn", []string{"AUTHDEV_ISSUER=" + pxURL, "AUTHDEV_AUDIENCE=app"}, "/usr/bin/python3", "-m", "uvicorn",
		"--app-dir", h.fastapiDir, "app:app", "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--workers", "1",
		"--no-access-log", "--log-level", "warning")
	if err != nil {
		return err
	}
	if _, err := pollUntil200(app+"/healthz", time.Now(), p, 30*time.Second); err != nil {
		return err
	}
	px, err := h.authdevProc("authdev proxy (FastAPI)", "--config", cfg, "proxy", "--listen", fmt.Sprintf("127.0.0.1:%d", pxPort), "--upstream", app)
	if err != nil {
		return err
	}
	if _, err := px.wait(reReady, 30*time.Second); err != nil {
		return err
	}
	cookie, err := browserLogin(pxURL+"/", "alice")
	if err != nil {
		return fmt.Errorf("login through the proxy in front of FastAPI: %w", err)
	}
	if err := check(pxURL+"/healthz", "Cookie: "+cookie); err != nil {
		return err
	}
	h.add("fastapi-direct", "fastapi", "wrk → FastAPI example /healthz, one uvicorn worker", c32(app+"/healthz"))
	h.add("fastapi-authdev", "fastapi", "wrk → authdev proxy (cookie) → the same FastAPI worker", c32(pxURL+"/healthz", "Cookie: "+cookie))
	return nil
}

func (h *harness) startMockServer() (string, error) {
	p, err := h.ps.start("oauth2-mock-server", nil, "node", h.mockServer, "-a", "127.0.0.1", "-p", fmt.Sprint(freePort()))
	if err != nil {
		return "", err
	}
	m, err := p.wait(regexp.MustCompile(`listening on (http://\S+)`), 20*time.Second)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(m[1], "/"), nil
}

// measureStartup starts each server five times and measures the time from
// exec to its first useful answer, and its resident memory a second later.
func (h *harness) measureStartup(cfg string) error {
	const trials = 5
	type subject struct {
		name string
		argv func(port int) []string
		url  func(port int) string
		env  []string
	}
	subjects := []subject{
		{"authdev idp", func(port int) []string {
			return []string{h.authdev, "--state", "file", "--config", cfg, "idp", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}
		}, func(port int) string {
			return fmt.Sprintf("http://127.0.0.1:%d/dev/.well-known/openid-configuration", port)
		}, h.env},
		{"authdev proxy", func(port int) []string {
			return []string{h.authdev, "--state", "file", "--config", cfg, "proxy", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}
		}, func(port int) string { return fmt.Sprintf("http://127.0.0.1:%d/.authdev/health", port) }, h.env},
	}
	if h.mockServer != "" {
		subjects = append(subjects, subject{"oauth2-mock-server", func(port int) []string {
			return []string{"node", h.mockServer, "-a", "127.0.0.1", "-p", fmt.Sprint(port)}
		}, func(port int) string {
			return fmt.Sprintf("http://127.0.0.1:%d/.well-known/openid-configuration", port)
		}, nil})
	}
	if h.mockoidc != "" {
		subjects = append(subjects, subject{"mockoidc", func(port int) []string {
			return []string{h.mockoidc, "--listen", fmt.Sprintf("127.0.0.1:%d", port)}
		}, func(port int) string {
			return fmt.Sprintf("http://127.0.0.1:%d/oidc/.well-known/openid-configuration", port)
		}, nil})
	}
	for i := 0; i < trials; i++ {
		for _, s := range subjects {
			port := freePort()
			argv := s.argv(port)
			start := time.Now()
			p, err := h.ps.start(s.name+" (start-up)", s.env, argv...)
			if err != nil {
				return err
			}
			d, err := pollUntil200(s.url(port), start, p, 20*time.Second)
			if err != nil {
				p.stop()
				return fmt.Errorf("start-up of %s: %w", s.name, err)
			}
			h.startup[s.name] = append(h.startup[s.name], d)
			if i == 0 {
				time.Sleep(1500 * time.Millisecond)
				h.rss[s.name+" idle"] = rssKB(p.cmd.Process.Pid)
			}
			p.stop()
			h.logf("start-up %-20s %s", s.name, d.Round(100*time.Microsecond))
		}
	}
	return nil
}

// measureCLI times `authdev up` (cold: empty state store; warm: keys and CA
// kept), and `authdev token` and `authdev test` against it.
func (h *harness) measureCLI() {
	demo, err := os.ReadFile("config/demo.yaml")
	if err != nil {
		h.miss("authdev up: config/demo.yaml: %v", err)
		return
	}
	dir := filepath.Join(h.work, "up")
	os.MkdirAll(filepath.Join(dir, "home"), 0o700)
	env := []string{"HOME=" + filepath.Join(dir, "home"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "AUTHDEV_STATE_DIR=" + filepath.Join(dir, "state")}
	for i := 0; i < 6; i++ {
		kind := "authdev up (warm)"
		if i%2 == 0 {
			kind = "authdev up (cold)"
			os.RemoveAll(filepath.Join(dir, "state"))
		}
		idpPort, pxPort := freePort(), freePort()
		c := strings.ReplaceAll(string(demo), "127.0.0.1:9400", fmt.Sprintf("127.0.0.1:%d", idpPort))
		c = strings.ReplaceAll(c, "127.0.0.1:8443", fmt.Sprintf("127.0.0.1:%d", pxPort))
		cfg := writeFile(dir, "authdev.yaml", c)
		start := time.Now()
		p, err := h.ps.start(kind, env, h.authdev, "--state", "file", "--config", cfg, "up", "--no-tui")
		if err != nil {
			h.miss("%s: %v", kind, err)
			return
		}
		d, err := pollUntil200(fmt.Sprintf("https://127.0.0.1:%d/.authdev/health", pxPort), start, p, 60*time.Second)
		if err != nil {
			h.miss("%s: %v", kind, err)
			p.stop()
			return
		}
		h.startup[kind] = append(h.startup[kind], d)
		h.logf("%-20s healthy after %s", kind, d.Round(100*time.Microsecond))
		if i == 5 {
			h.timeCommand("authdev token --as alice", env, 5, h.authdev, "--state", "file", "--config", cfg, "token", "--as", "alice")
			h.timeCommand("authdev test (demo matrix, every environment)", env, 3, h.authdev, "--state", "file", "--config", cfg, "test")
		}
		p.stop()
	}
}

func (h *harness) timeCommand(name string, env []string, n int, argv ...string) {
	for i := 0; i < n; i++ {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), env...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			h.cli[name] = fmt.Sprintf("failed (%v): %s", err, strings.TrimSpace(tail(string(out))))
			h.miss("%s: %s", name, h.cli[name])
			return
		}
		h.startup[name] = append(h.startup[name], d)
	}
	h.logf("%s: %v", name, h.startup[name])
}

// runGoBench runs the testing.B benchmarks of the hot paths.
func (h *harness) runGoBench() {
	cmd := exec.Command("go", "test", "-run", "^$", "-benchmem", "-benchtime", "300ms", "-count", "1",
		"-bench", "SessionDecode|SessionLookupCached|HeaderStripInject|HeaderStripSpoofed|AssertionCacheHit|AssertionSign|ProxyAuthenticated|BareReverseProxy|Evaluate|ClientCredentials|BareRS256Sign|SAMLLogin|OIDCCodeFlow",
		"./devproxy", "./adc", "./mockidp")
	cmd.Dir = h.src
	out, err := cmd.CombinedOutput()
	// The figures of `authdev test`: its in-process stack, started 20
	// times (a cold start's RSA key generation varies a lot from one start
	// to the next), and 5 runs of 200 checks in 3 environments against the
	// FastAPI example.
	for _, b := range []struct{ times, name, pkg string }{
		{"20x", "StackStartup", "./internal/rbactest"},
		{"5x", "Run200ChecksX3Envs", "./e2e"},
	} {
		cmd := exec.Command("go", "test", "-run", "^$", "-benchmem", "-benchtime", b.times, "-count", "1", "-bench", b.name, b.pkg)
		cmd.Dir = h.src
		more, merr := cmd.CombinedOutput()
		out = append(out, more...)
		err = errors.Join(err, merr)
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "ok") || strings.HasPrefix(l, "FAIL") || strings.HasPrefix(l, "pkg:") || strings.HasPrefix(l, "cpu:") {
			keep = append(keep, l)
		}
	}
	h.goBench = strings.Join(keep, "\n")
	if err != nil {
		h.miss("go test -bench: %v\n%s", err, tail(string(out)))
	}
	h.logf("go benchmarks done")
}
