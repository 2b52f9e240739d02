// Command harness runs authdev's side-by-side benchmarks (`make bench`):
// it starts authdev and each peer on loopback, drives the same wrk load at
// each in alternation (round 1: A B C …, round 2: A B C …), takes medians,
// measures start-up and resident memory, runs the Go hot-path benchmarks,
// and writes bench/RESULTS.md with the ratios (authdev ÷ peer) and the
// targets of the mock IdP and the proxy met or missed.
//
// A peer that cannot be found is reported as missing; the rest still runs.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

type harness struct {
	work, authdev, bin, o2p, mockServer, fastapiDir, src string
	rounds                                               int
	dur                                                  time.Duration
	ps                                                   procs
	missing                                              []string
	order                                                []*series
	byName                                               map[string]*series
	loads                                                map[string]load
	startup                                              map[string][]time.Duration
	rss                                                  map[string]int // KiB
	cli                                                  map[string]string
	env                                                  []string
	tokensIssued                                         int
	idpPID                                               int
	goBench                                              string
	loadBefore, loadAfter                                string
	started                                              time.Time
	fromHead                                             bool
	mockoidc                                             string
	only                                                 *regexp.Regexp // a quick A/B of some scenarios; no report
}

func main() {
	h := &harness{byName: map[string]*series{}, loads: map[string]load{}, startup: map[string][]time.Duration{},
		rss: map[string]int{}, cli: map[string]string{}, started: time.Now()}
	out := flag.String("out", "bench/RESULTS.md", "where to write the report")
	flag.StringVar(&h.work, "work", "", "scratch folder (default a temporary one)")
	flag.StringVar(&h.authdev, "authdev", "", "authdev binary")
	flag.StringVar(&h.bin, "bin", "", "folder with the built backend, bareproxy and signer")
	flag.StringVar(&h.o2p, "oauth2-proxy", "", "oauth2-proxy v7.15.6 binary (empty: reported missing)")
	flag.StringVar(&h.mockoidc, "mockoidc", "", "bench/peers/mockoidc binary (empty: reported missing)")
	flag.StringVar(&h.mockServer, "mock-server", "", "oauth2-mock-server's CLI .mjs (empty: reported missing)")
	flag.StringVar(&h.fastapiDir, "fastapi", "examples/fastapi", "the FastAPI example")
	flag.StringVar(&h.src, "src", ".", "the source tree authdev was built from (the Go benchmarks run there)")
	flag.BoolVar(&h.fromHead, "from-head", false, "authdev was built from the last commit because the working tree did not build")
	flag.IntVar(&h.rounds, "rounds", 3, "rounds of alternation")
	flag.DurationVar(&h.dur, "duration", 4*time.Second, "length of one wrk run")
	only := flag.String("only", "", "run only the scenarios whose name matches this regexp, print their medians and write no report")
	flag.Parse()
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -only:", err)
			os.Exit(2)
		}
		h.only = re
	}
	if h.work == "" {
		h.work, _ = os.MkdirTemp("", "authdev-bench-")
		defer os.RemoveAll(h.work)
	}
	h.env = []string{"HOME=" + filepath.Join(h.work, "home"), "XDG_CONFIG_HOME=" + filepath.Join(h.work, "config"),
		"AUTHDEV_STATE_DIR=" + filepath.Join(h.work, "state")}
	h.ps.dir = filepath.Join(h.work, "logs")
	os.MkdirAll(h.ps.dir, 0o700)
	defer h.ps.stopAll()
	h.loadBefore = loadavg()
	if err := h.run(); err != nil {
		h.ps.stopAll()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	h.loadAfter = loadavg()
	h.ps.stopAll()
	if h.only != nil {
		h.printMedians()
		return
	}
	report := h.report()
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s in %s\n", *out, time.Since(h.started).Round(time.Second))
}

func (h *harness) logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[%5.0fs] "+format+"\n", append([]any{time.Since(h.started).Seconds()}, a...)...)
}

func (h *harness) miss(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	h.missing = append(h.missing, msg)
	h.logf("MISSING: %s", msg)
}

// add registers a scenario in the alternation.
func (h *harness) add(name, group, what string, l load) {
	s := &series{name: name, group: group, what: what, cmd: l.command()}
	h.order = append(h.order, s)
	h.byName[name] = s
	h.loads[name] = l
}

var (
	reListen = regexp.MustCompile(`listening on (http://\S+)`)
	reReady  = regexp.MustCompile(`(?m)^\s+proxy\s+(\S+)$`)
)

const benchYAML = `idp:
  listen: 127.0.0.1:%d
  flavor: generic
  token_ttl: 1h
  clients:
    - id: ci
      secret: ci-secret
      grants: [client_credentials]
    - id: oauth2-proxy
      secret: oauth2-proxy-secret
      redirect_uris: [http://127.0.0.1:%d/oauth2/callback]
personas:
  alice: {name: Alice Admin, email: alice@example.com, groups: [eng-admins]}
  bob: {name: Bob Builder, email: bob@example.com, groups: [eng]}
environments:
  dev: {alg: ES256, roles: {eng-admins: [admin], eng: [reader]}}
  rs: {alg: RS256, roles: {eng-admins: [admin], eng: [reader]}}
proxy:
  listen: 127.0.0.1:%d
  tls: false
  upstreams:
    - {name: api, prefix: /, targets: ["%s"]}
  default_authorization: ALLOW
  policies:
    - name: admin-area
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/admin") && !AAA.USER.IS_MEMBER_OF("admin")
      action: DENY
`

func (h *harness) authdevProc(name string, args ...string) (*proc, error) {
	return h.ps.start(name, h.env, append([]string{h.authdev, "--state", "file"}, args...)...)
}

func (h *harness) run() error {
	for _, d := range []string{"home", "config", "state"} {
		os.MkdirAll(filepath.Join(h.work, d), 0o700)
	}
	// The Go backend.
	backendPort := freePort()
	backend := fmt.Sprintf("http://127.0.0.1:%d", backendPort)
	bp, err := h.ps.start("backend", nil, filepath.Join(h.bin, "backend"), "--listen", fmt.Sprintf("127.0.0.1:%d", backendPort))
	if err != nil {
		return err
	}
	if _, err := bp.wait(reListen, 10*time.Second); err != nil {
		return err
	}

	// authdev: config, IdP (which creates the keys once), proxy.
	idpPort, proxyPort, o2pPort := freePort(), freePort(), freePort()
	cfg := writeFile(h.work, "authdev.yaml", fmt.Sprintf(benchYAML, idpPort, o2pPort, proxyPort, backend))
	idp, err := h.authdevProc("authdev idp", "--config", cfg, "idp")
	if err != nil {
		return err
	}
	if _, err := idp.wait(reListen, 60*time.Second); err != nil {
		return err
	}
	h.idpPID = idp.cmd.Process.Pid
	issuer := fmt.Sprintf("http://localhost:%d/dev", idpPort)
	issuerRS := fmt.Sprintf("http://localhost:%d/rs", idpPort)

	// Start-up figures first, while the machine is quiet and the keys exist.
	if h.only == nil {
		if err := h.measureStartup(cfg); err != nil {
			return err
		}
	}

	px, err := h.authdevProc("authdev proxy", "--config", cfg, "proxy")
	if err != nil {
		return err
	}
	if _, err := px.wait(reReady, 30*time.Second); err != nil {
		return err
	}
	proxyURL := fmt.Sprintf("http://127.0.0.1:%d", proxyPort)
	cookie, err := browserLogin(proxyURL+"/", "alice")
	if err != nil {
		return fmt.Errorf("authdev proxy login: %w", err)
	}
	bearer, err := codeToken(issuer, "alice")
	if err != nil {
		return fmt.Errorf("a token for alice from %s: %w", issuer, err)
	}
	for _, hd := range []string{"Cookie: " + cookie, "Authorization: Bearer " + bearer} {
		if err := check(proxyURL+"/api/items", hd); err != nil {
			return fmt.Errorf("authdev proxy refuses the benchmark's credentials: %w", err)
		}
	}
	c32 := func(url string, headers ...string) load {
		return load{conns: 32, duration: h.dur, url: url, headers: headers}
	}
	path := "/api/items"
	h.add("direct", "proxy", "wrk → Go backend", c32(backend+path))

	// nginx as a plain reverse proxy.
	if nginxURL, err := h.startNginx(backendPort); err != nil {
		h.miss("nginx: %v", err)
	} else {
		h.add("nginx", "proxy", "nginx (Debian, worker_processes auto, upstream keepalive 64) → backend", c32(nginxURL+path))
	}
	// The bare ReverseProxy.
	barePort := freePort()
	bare, err := h.ps.start("bareproxy", nil, filepath.Join(h.bin, "bareproxy"), "--listen", fmt.Sprintf("127.0.0.1:%d", barePort), "--upstream", backend)
	if err != nil {
		return err
	}
	if _, err := bare.wait(reListen, 10*time.Second); err != nil {
		return err
	}
	bareURL := fmt.Sprintf("http://127.0.0.1:%d%s", barePort, path)
	h.add("bare-rp", "proxy", "httputil.ReverseProxy, MaxIdleConnsPerHost 1024, pooled 32 KiB buffer → backend", c32(bareURL))
	// oauth2-proxy with authdev's IdP for its login.
	if h.o2p == "" {
		h.miss("oauth2-proxy v7.15.6: not installed (go install github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6)")
	} else if err := h.startOAuth2Proxy(o2pPort, issuer, backend, bearer, c32, path); err != nil {
		h.miss("oauth2-proxy: %v", err)
	}
	h.add("authdev-cookie", "proxy", "authdev proxy, NSC_TMAS session cookie, 3 identity headers + assertion, 1 policy → backend", c32(proxyURL+path, "Cookie: "+cookie))
	h.add("authdev-bearer", "proxy", "authdev proxy, Bearer ES256 access token, same work → backend", c32(proxyURL+path, "Authorization: Bearer "+bearer))

	// One connection: added latency.
	c1 := func(url string, headers ...string) load {
		return load{conns: 1, duration: h.dur, url: url, headers: headers}
	}
	h.add("direct-c1", "latency", "wrk -c1 → Go backend", c1(backend+path))
	h.add("bare-rp-c1", "latency", "wrk -c1 → bare ReverseProxy → Go backend (what any Go proxy adds)", c1(bareURL))
	h.add("authdev-cookie-c1", "latency", "wrk -c1 → authdev proxy (cookie) → Go backend", c1(proxyURL+path, "Cookie: "+cookie))

	// FastAPI, one uvicorn worker, behind a second authdev proxy.
	if err := h.startFastAPI(cfg, c32); err != nil {
		h.miss("FastAPI: %v", err)
	}

	// IdP figures.
	script := writeFile(h.work, "cc.lua", `wrk.method = "POST"
wrk.body = "grant_type=client_credentials&client_id=ci&client_secret=ci-secret"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
`)
	post := func(url string) load { return load{conns: 32, duration: h.dur, url: url, script: script} }
	for _, is := range []string{issuer, issuerRS} {
		if _, err := runWrk(load{conns: 1, duration: time.Second, url: is + "/token", script: script}); err != nil {
			return err
		}
	}
	if err := checkToken(issuer + "/token"); err != nil {
		return fmt.Errorf("authdev idp client_credentials: %w", err)
	}
	h.add("idp-es256", "tokens", "authdev idp, client_credentials, ES256", post(issuer+"/token"))
	h.add("idp-rs256", "tokens", "authdev idp, client_credentials, RS256", post(issuerRS+"/token"))
	signerPort := freePort()
	sg, err := h.ps.start("signer", nil, filepath.Join(h.bin, "signer"), "--listen", fmt.Sprintf("127.0.0.1:%d", signerPort))
	if err != nil {
		return err
	}
	if _, err := sg.wait(reListen, 10*time.Second); err != nil {
		return err
	}
	h.add("bare-rs256-signer", "tokens", "bare Go handler that only signs an RS256 JWT (go-jose)", post(fmt.Sprintf("http://127.0.0.1:%d/token", signerPort)))
	h.add("idp-discovery", "discovery", "authdev idp discovery", c32(issuer+"/.well-known/openid-configuration"))
	h.add("idp-jwks", "jwks", "authdev idp JWKS", c32(issuer+"/jwks.json"))
	if h.mockServer == "" {
		h.miss("npm oauth2-mock-server@9.3.0: not installed (npm install oauth2-mock-server@9.3.0)")
	} else if msURL, err := h.startMockServer(); err != nil {
		h.miss("oauth2-mock-server: %v", err)
	} else {
		if err := checkToken(msURL + "/token"); err != nil {
			h.miss("oauth2-mock-server client_credentials: %v", err)
		} else {
			h.add("mock-server-rs256", "tokens", "oauth2-mock-server 9.3.0 (node), client_credentials, RS256 (its only generated key type)", post(msURL+"/token"))
		}
		h.add("mock-server-discovery", "discovery", "oauth2-mock-server discovery", c32(msURL+"/.well-known/openid-configuration"))
		h.add("mock-server-jwks", "jwks", "oauth2-mock-server JWKS", c32(msURL+"/jwks"))
	}

	if h.mockoidc == "" {
		h.miss("oauth2-proxy/mockoidc: not built (bench/peers/mockoidc)")
	} else {
		port := freePort()
		mp, err := h.ps.start("mockoidc", nil, h.mockoidc, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return err
		}
		if _, err := mp.wait(reListen, 20*time.Second); err != nil {
			h.miss("mockoidc: %v", err)
		} else {
			base := fmt.Sprintf("http://127.0.0.1:%d/oidc", port)
			h.add("mockoidc-discovery", "discovery", "oauth2-proxy/mockoidc discovery", c32(base+"/.well-known/openid-configuration"))
			h.add("mockoidc-jwks", "jwks", "oauth2-proxy/mockoidc JWKS", c32(base+"/.well-known/jwks.json"))
		}
	}

	// The alternation.
	for r := 1; r <= h.rounds; r++ {
		for _, s := range h.order {
			if h.only != nil && !h.only.MatchString(s.name) {
				continue
			}
			smp, err := runWrk(h.loads[s.name])
			if err != nil {
				s.failures = append(s.failures, err.Error())
				h.logf("round %d %-22s FAILED: %v", r, s.name, err)
				continue
			}
			// wrk counts 3xx as success: make sure the credentials still
			// pass (a redirect to the login would be a cheap, wrong figure).
			if l := h.loads[s.name]; len(l.headers) > 0 {
				if err := check(l.url, l.headers[0]); err != nil {
					s.failures = append(s.failures, "after the run: "+err.Error())
					smp.bad++
				}
			}
			s.samples = append(s.samples, smp)
			if strings.HasPrefix(s.name, "idp-es256") || strings.HasPrefix(s.name, "idp-rs256") {
				h.tokensIssued += smp.requests
			}
			h.logf("round %d %-22s %9.0f req/s  p50 %-9s p99 %-9s bad %d", r, s.name, smp.rps, smp.p50, smp.p99, smp.bad)
		}
	}
	h.rss["authdev proxy after load"] = rssKB(px.cmd.Process.Pid)
	if h.only != nil {
		return nil
	}

	// Memory of the IdP after 500k tokens.
	if err := h.tokensTo(500_000, post(issuer+"/token")); err != nil {
		h.miss("500k tokens: %v", err)
	}
	h.rss["authdev idp after tokens"] = rssKB(h.idpPID)

	h.measureCLI()
	h.runGoBench()
	return nil
}

func checkToken(url string) error {
	out, err := exec.Command("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
		"-d", "grant_type=client_credentials&client_id=ci&client_secret=ci-secret", url).Output()
	if err != nil {
		return err
	}
	if string(out) != "200" {
		return fmt.Errorf("POST %s answered %s", url, out)
	}
	return nil
}

// tokensTo issues ES256 tokens until the IdP has issued n in this run.
func (h *harness) tokensTo(n int, l load) error {
	for h.tokensIssued < n {
		rest := n - h.tokensIssued
		rate := 10000.0
		if s := h.byName["idp-es256"]; s != nil && s.rps() > 0 {
			rate = s.rps()
		}
		secs := int(float64(rest)/rate) + 1
		if secs > 90 {
			return fmt.Errorf("the IdP issues %.0f tokens/s: %d more would take more than 90 s; stopped at %d", rate, rest, h.tokensIssued)
		}
		l.duration = time.Duration(secs) * time.Second
		s, err := runWrk(l)
		if err != nil {
			return err
		}
		if s.bad > 0 {
			return fmt.Errorf("%d failed token requests", s.bad)
		}
		h.tokensIssued += s.requests
		h.logf("tokens issued so far: %d", h.tokensIssued)
	}
	return nil
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// printMedians is the whole output of a run with -only.
func (h *harness) printMedians() {
	for _, s := range h.order {
		if len(s.samples) > 0 {
			fmt.Printf("%-22s %9.0f req/s  p50 %-9s p99 %-9s runs %s\n", s.name, s.rps(), s.p50(), s.p99(), s.all())
		}
	}
}
