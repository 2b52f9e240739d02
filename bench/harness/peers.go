package main

import (
	"crypto/rand"
	"encoding/base64"
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

// startOAuth2Proxy starts oauth2-proxy in front of the Go backend with r's
// IdP as its OIDC provider, and logs in through it.
func (h *harness) startOAuth2Proxy(r *rig, c32 func(string, ...string) load, path string) error {
	port, issuer, backend, bearer := h.o2pPort, r.issuer, h.backend, r.bearer
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

// startFastAPI starts the FastAPI example (one uvicorn worker) and, in
// front of it, a second proxy of each rig.
func (h *harness) startFastAPI(c32 func(string, ...string) load) error {
	if _, err := os.Stat(filepath.Join(h.fastapiDir, "app.py")); err != nil {
		return fmt.Errorf("no %s/app.py", h.fastapiDir)
	}
	port := freePort()
	app := fmt.Sprintf("http://127.0.0.1:%d", port)
	pxPort := freePort() // HEAD's proxy, whose assertions the example trusts
	p, err := h.ps.start("uvicorn", []string{fmt.Sprintf("AUTHDEV_ISSUER=http://127.0.0.1:%d", pxPort), "AUTHDEV_AUDIENCE=app"}, "/usr/bin/python3", "-m", "uvicorn",
		"--app-dir", h.fastapiDir, "app:app", "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--workers", "1",
		"--no-access-log", "--log-level", "warning")
	if err != nil {
		return err
	}
	if _, err := pollUntil200(app+"/healthz", time.Now(), p, 30*time.Second); err != nil {
		return err
	}
	for _, r := range h.rigs {
		if err := h.startFastAPIProxy(r, app, pxPort); err != nil {
			return err
		}
		pxPort = freePort()
	}
	h.add("fastapi-direct", "fastapi", "wrk → FastAPI example /healthz, one uvicorn worker", c32(app+"/healthz"))
	h.addOwn("fastapi-authdev", "fastapi", "wrk → authdev proxy (cookie) → the same FastAPI worker",
		func(r *rig) load { return c32(r.fastapiURL+"/healthz", "Cookie: "+r.fastapiCookie) })
	return nil
}

// startFastAPIProxy starts r's proxy on port in front of the FastAPI app
// and logs in through it.
func (h *harness) startFastAPIProxy(r *rig, app string, port int) error {
	r.fastapiURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	px, err := h.authdevProc(r, "authdev proxy (FastAPI)", "--config", r.cfg, "proxy", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--upstream", app)
	if err != nil {
		return err
	}
	if _, err := px.wait(reReady, 30*time.Second); err != nil {
		return err
	}
	// /healthz checks no assertion, so the login lands there for the
	// baseline's proxy as well, whose keys the example does not trust.
	if r.fastapiCookie, err = browserLogin(r.fastapiURL+"/healthz", "alice"); err != nil {
		return fmt.Errorf("login through %s in front of FastAPI: %w", r.name("authdev proxy"), err)
	}
	return check(r.fastapiURL+"/healthz", "Cookie: "+r.fastapiCookie)
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

// startSubject is a server whose start-up is measured: argv on a port,
// and the URL that answers 200 once it is ready.
type startSubject struct {
	name string
	argv func(port int) []string
	url  func(port int) string
	env  []string
}

// authdevSubjects are the IdP and proxy of r, keys in its state store.
func authdevSubjects(r *rig) []startSubject {
	run := func(cmd string) func(int) []string {
		return func(port int) []string {
			return []string{r.bin, "--state", "file", "--config", r.cfg, cmd, "--listen", fmt.Sprintf("127.0.0.1:%d", port)}
		}
	}
	return []startSubject{
		{r.name("authdev idp"), run("idp"), func(port int) string {
			return fmt.Sprintf("http://127.0.0.1:%d/dev/.well-known/openid-configuration", port)
		}, r.env},
		{r.name("authdev proxy"), run("proxy"), func(port int) string {
			return fmt.Sprintf("http://127.0.0.1:%d/.authdev/health", port)
		}, r.env},
	}
}

// measureStartup starts each server five times, in turn, and measures the
// time from exec to its first useful answer, and its resident memory a
// moment later.
func (h *harness) measureStartup() error {
	const trials = 5
	var subjects []startSubject
	for _, r := range h.rigs {
		subjects = append(subjects, authdevSubjects(r)...)
	}
	if h.mockServer != "" {
		subjects = append(subjects, startSubject{"oauth2-mock-server", func(port int) []string {
			return []string{"node", h.mockServer, "-a", "127.0.0.1", "-p", fmt.Sprint(port)}
		}, func(port int) string {
			return fmt.Sprintf("http://127.0.0.1:%d/.well-known/openid-configuration", port)
		}, nil})
	}
	if h.mockoidc != "" {
		subjects = append(subjects, startSubject{"mockoidc", func(port int) []string {
			return []string{h.mockoidc, "--listen", fmt.Sprintf("127.0.0.1:%d", port)}
		}, func(port int) string {
			return fmt.Sprintf("http://127.0.0.1:%d/oidc/.well-known/openid-configuration", port)
		}, nil})
	}
	for i := 0; i < trials; i++ {
		for _, s := range subjects {
			if err := h.startOnce(s, i == 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// startOnce measures one start of s, and its idle RSS if idle is set.
func (h *harness) startOnce(s startSubject, idle bool) error {
	port := freePort()
	argv := s.argv(port)
	start := time.Now()
	p, err := h.ps.start(s.name+" (start-up)", s.env, argv...)
	if err != nil {
		return err
	}
	defer p.stop()
	d, err := pollUntil200(s.url(port), start, p, 20*time.Second)
	if err != nil {
		return fmt.Errorf("start-up of %s: %w", s.name, err)
	}
	h.startup[s.name] = append(h.startup[s.name], d)
	if idle {
		time.Sleep(1500 * time.Millisecond)
		h.rss[idleName(s.name)] = rssKB(p.cmd.Process.Pid)
	}
	h.logf("start-up %-28s %s", s.name, d.Round(100*time.Microsecond))
	return nil
}

// idleName is the RSS figure's name of a server at rest: "authdev idp
// idle", or "authdev idp idle@baseline" for the baseline's.
func idleName(server string) string {
	name, twin := strings.CutSuffix(server, twinSuffix)
	if twin {
		return name + " idle" + twinSuffix
	}
	return name + " idle"
}

// measureCLI times `authdev up` (cold: empty state store; warm: keys and CA
// kept), and `authdev token` and `authdev test` against it, for each rig in
// turn.
func (h *harness) measureCLI() {
	for i := 0; i < 6; i++ {
		for _, r := range h.rigs {
			if err := h.upOnce(r, i); err != nil {
				h.miss("%s", err)
				return
			}
		}
	}
}

// upOnce starts `authdev up` on r's built-in demo (the demo of r's own
// tree): an even i with an empty state store, an odd one with the store the
// run before left; after the last, it times `authdev token` and `authdev test`.
func (h *harness) upOnce(r *rig, i int) error {
	demo, err := os.ReadFile(filepath.Join(r.src, "config/demo.yaml"))
	if err != nil {
		return fmt.Errorf("authdev up: %w", err)
	}
	dir := filepath.Join(r.dir, "up")
	os.MkdirAll(filepath.Join(dir, "home"), 0o700)
	env := []string{"HOME=" + filepath.Join(dir, "home"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "AUTHDEV_STATE_DIR=" + filepath.Join(dir, "state")}
	kind := r.name("authdev up (warm)")
	if i%2 == 0 {
		kind = r.name("authdev up (cold)")
		os.RemoveAll(filepath.Join(dir, "state"))
	}
	idpPort, pxPort := freePort(), freePort()
	c := strings.ReplaceAll(string(demo), "127.0.0.1:9400", fmt.Sprintf("127.0.0.1:%d", idpPort))
	c = strings.ReplaceAll(c, "127.0.0.1:8443", fmt.Sprintf("127.0.0.1:%d", pxPort))
	cfg := writeFile(dir, "authdev.yaml", c)
	start := time.Now()
	p, err := h.ps.start(kind, env, r.bin, "--state", "file", "--config", cfg, "up", "--no-tui")
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	defer p.stop()
	d, err := pollUntil200(fmt.Sprintf("https://127.0.0.1:%d/.authdev/health", pxPort), start, p, 60*time.Second)
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	h.startup[kind] = append(h.startup[kind], d)
	h.logf("%-28s healthy after %s", kind, d.Round(100*time.Microsecond))
	if i == 5 {
		h.timeCommand(r.name("authdev token --as alice"), env, 5, r.bin, "--state", "file", "--config", cfg, "token", "--as", "alice")
		h.timeCommand(r.name("authdev test (demo matrix, every environment)"), env, 3, r.bin, "--state", "file", "--config", cfg, "test")
	}
	return nil
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

// goBenchRuns are the `go test -bench` invocations of the report: the hot
// paths for 300ms each; `authdev test`'s in-process stack started 20 times
// (a cold start's RSA key generation varies a lot from one start to the
// next); 5 runs of 200 checks in 3 environments against the FastAPI example.
var goBenchRuns = [][]string{
	{"-benchtime", "300ms", "-bench", "SessionDecode|SessionLookupCached|HeaderStripInject|HeaderStripSpoofed|AssertionCacheHit|AssertionSign|ProxyAuthenticated|BareReverseProxy|Evaluate|ClientCredentials|BareRS256Sign|SAMLLogin|OIDCCodeFlow",
		"./devproxy", "./adc", "./mockidp"},
	{"-benchtime", "20x", "-bench", "StackStartup", "./internal/rbactest"},
	{"-benchtime", "5x", "-bench", "Run200ChecksX3Envs", "./e2e"},
}

// runGoBench runs the testing.B benchmarks in each rig's source tree, one
// invocation at a time for HEAD and then the baseline.
func (h *harness) runGoBench() {
	for _, args := range goBenchRuns {
		for _, r := range h.rigs {
			cmd := exec.Command("go", append([]string{"test", "-run", "^$", "-benchmem", "-count", "1"}, args...)...)
			cmd.Dir = r.src
			out, err := cmd.CombinedOutput()
			var keep []string
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "ok") || strings.HasPrefix(l, "FAIL") || strings.HasPrefix(l, "pkg:") || strings.HasPrefix(l, "cpu:") {
					keep = append(keep, l)
				}
			}
			r.goBench = strings.TrimPrefix(r.goBench+"\n"+strings.Join(keep, "\n"), "\n")
			if err != nil {
				h.miss("go test -bench in %s: %v\n%s", r.src, err, tail(string(out)))
			}
		}
	}
	h.logf("go benchmarks done")
}
