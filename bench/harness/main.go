// Command harness runs authdev's side-by-side benchmarks (`make bench`):
// it starts authdev and each peer on loopback, drives the same wrk load at
// each in alternation (round 1: A B C …, round 2: A B C …), takes medians,
// measures start-up and resident memory, runs the Go hot-path benchmarks,
// and writes bench/RESULTS.md with the ratios (authdev ÷ peer) and the
// targets of the mock IdP and the proxy met or missed.
//
// Given a baseline (authdev built at another revision), every figure of
// authdev's own is also measured at the baseline, each twin right beside
// its HEAD scenario, and the report compares the two.
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
	"slices"
	"strings"
	"time"
)

type harness struct {
	work, bin, o2p, mockServer, fastapiDir string
	rounds                                 int
	dur                                    time.Duration
	ps                                     procs
	missing                                []string
	order                                  []*series
	byName                                 map[string]*series
	loads                                  map[string]load
	startup                                map[string][]time.Duration
	rss                                    map[string]int // KiB
	cli                                    map[string]string
	rigs                                   []*rig // HEAD, then the baseline if there is one
	backend                                string
	backendPort, o2pPort                   int
	tokensIssued                           int
	loadBefore, loadAfter                  string
	started                                time.Time
	fromHead                               bool
	baseRev                                string
	mockoidc                               string
	ccLua                                  string         // wrk's client_credentials script
	only                                   *regexp.Regexp // a quick A/B of some scenarios; no report
}

// head is the authdev under test; base the baseline beside it, or nil.
func (h *harness) head() *rig { return h.rigs[0] }

func (h *harness) base() *rig {
	if len(h.rigs) < 2 {
		return nil
	}
	return h.rigs[1]
}

// selected says whether a quick run (-only) includes name: a scenario, or
// "start-up", "cli" or "go-bench" for the measurements beyond wrk.
func (h *harness) selected(name string) bool { return h.only == nil || h.only.MatchString(name) }

func main() {
	h := &harness{byName: map[string]*series{}, loads: map[string]load{}, startup: map[string][]time.Duration{},
		rss: map[string]int{}, cli: map[string]string{}, started: time.Now()}
	out := flag.String("out", "bench/RESULTS.md", "where to write the report")
	flag.StringVar(&h.work, "work", "", "scratch folder (default a temporary one)")
	head := &rig{}
	flag.StringVar(&head.bin, "authdev", "", "authdev binary")
	base := &rig{suffix: twinSuffix}
	flag.StringVar(&base.bin, "baseline", "", "authdev built at the baseline revision (empty: no side-by-side baseline)")
	flag.StringVar(&base.src, "baseline-src", "", "the source tree the baseline was built from (its Go benchmarks run there)")
	flag.StringVar(&h.baseRev, "baseline-rev", "", "the baseline's revision, as the report names it")
	flag.StringVar(&h.bin, "bin", "", "folder with the built backend, bareproxy and signer")
	flag.StringVar(&h.o2p, "oauth2-proxy", "", "oauth2-proxy v7.15.6 binary (empty: reported missing)")
	flag.StringVar(&h.mockoidc, "mockoidc", "", "bench/peers/mockoidc binary (empty: reported missing)")
	flag.StringVar(&h.mockServer, "mock-server", "", "oauth2-mock-server's CLI .mjs (empty: reported missing)")
	flag.StringVar(&h.fastapiDir, "fastapi", "examples/fastapi", "the FastAPI example")
	flag.StringVar(&head.src, "src", ".", "the source tree authdev was built from (the Go benchmarks run there)")
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
	h.rigs = []*rig{head}
	if base.bin != "" {
		h.rigs = append(h.rigs, base)
	}
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
		h.printQuick()
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
func (h *harness) add(name, group, what string, l load) *series {
	s := &series{name: name, group: group, what: what, cmd: l.command()}
	h.order = append(h.order, s)
	h.byName[name] = s
	h.loads[name] = l
	return s
}

// addOwn registers one of authdev's own scenarios, l giving its load
// against a rig, and in a side-by-side run its twin at the baseline.
func (h *harness) addOwn(name, group, what string, l func(r *rig) load) {
	s := h.add(name, group, what, l(h.head()))
	if b := h.base(); b != nil {
		s.twin = h.add(name+b.suffix, twinGroup, what+", at the baseline", l(b))
	}
}

var (
	reListen = regexp.MustCompile(`listening on (http://\S+)`)
	reReady  = regexp.MustCompile(`(?m)^\s+proxy\s+(\S+)$`)
)

// benchPath is the backend route every proxy scenario requests.
const benchPath = "/api/items"

func (h *harness) run() error {
	var err error
	if h.backendPort, err = h.startServer("backend", filepath.Join(h.bin, "backend"), 10*time.Second); err != nil {
		return err
	}
	h.backend = fmt.Sprintf("http://127.0.0.1:%d", h.backendPort)
	h.o2pPort = freePort()
	for _, r := range h.rigs {
		if err := h.startRig(r); err != nil {
			return err
		}
	}
	// Start-up while the machine is quiet: each IdP has created its keys.
	if h.selected("start-up") {
		if err := h.measureStartup(); err != nil {
			return err
		}
	}
	if err := h.addProxyScenarios(); err != nil {
		return err
	}
	if err := h.addIdPScenarios(); err != nil {
		return err
	}
	h.alternate()
	for _, r := range h.rigs {
		if h.selected("authdev-cookie") || h.selected("authdev-bearer") {
			h.rss["authdev proxy after load"+r.suffix] = rssKB(r.proxy.cmd.Process.Pid)
		}
	}
	if h.only == nil {
		// Memory of the IdP after 500k tokens.
		if err := h.tokensTo(500_000, h.post(h.head().issuer+"/token")); err != nil {
			h.miss("500k tokens: %v", err)
		}
		h.rss["authdev idp after tokens"] = rssKB(h.head().idp.cmd.Process.Pid)
	}
	if h.selected("cli") {
		h.measureCLI()
	}
	if h.selected("go-bench") {
		h.runGoBench()
	}
	return nil
}

// startServer starts one of the bench's own Go servers on a free loopback
// port and waits until it listens.
func (h *harness) startServer(name, bin string, timeout time.Duration, args ...string) (int, error) {
	port := freePort()
	p, err := h.ps.start(name, nil, append([]string{bin, "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, args...)...)
	if err != nil {
		return 0, err
	}
	_, err = p.wait(reListen, timeout)
	return port, err
}

// c32 is a GET load at 32 connections; c1 at one, for added latency.
func (h *harness) c32(url string, headers ...string) load {
	return load{conns: 32, duration: h.dur, url: url, headers: headers}
}

func (h *harness) c1(url string, headers ...string) load {
	return load{conns: 1, duration: h.dur, url: url, headers: headers}
}

// addProxyScenarios adds the proxies in front of the Go backend: direct,
// nginx, the bare ReverseProxy, oauth2-proxy and authdev; then the
// one-connection latency runs and FastAPI.
func (h *harness) addProxyScenarios() error {
	path, c32, c1 := benchPath, h.c32, h.c1
	h.add("direct", "proxy", "wrk → Go backend", c32(h.backend+path))
	if nginxURL, err := h.startNginx(h.backendPort); err != nil {
		h.miss("nginx: %v", err)
	} else {
		h.add("nginx", "proxy", "nginx (Debian, worker_processes auto, upstream keepalive 64) → backend", c32(nginxURL+path))
	}
	barePort, err := h.startServer("bareproxy", filepath.Join(h.bin, "bareproxy"), 10*time.Second, "--upstream", h.backend)
	if err != nil {
		return err
	}
	bareURL := fmt.Sprintf("http://127.0.0.1:%d%s", barePort, path)
	h.add("bare-rp", "proxy", "httputil.ReverseProxy, MaxIdleConnsPerHost 1024, pooled 32 KiB buffer → backend", c32(bareURL))
	if h.o2p == "" {
		h.miss("oauth2-proxy v7.15.6: not installed (go install github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6)")
	} else if err := h.startOAuth2Proxy(h.head(), c32, path); err != nil {
		h.miss("oauth2-proxy: %v", err)
	}
	h.addOwn("authdev-cookie", "proxy", "authdev proxy, NSC_TMAS session cookie, 3 identity headers + assertion, 1 policy → backend",
		func(r *rig) load { return c32(r.proxyURL+path, "Cookie: "+r.cookie) })
	h.addOwn("authdev-bearer", "proxy", "authdev proxy, Bearer ES256 access token, same work → backend",
		func(r *rig) load { return c32(r.proxyURL+path, "Authorization: Bearer "+r.bearer) })
	h.add("direct-c1", "latency", "wrk -c1 → Go backend", c1(h.backend+path))
	h.add("bare-rp-c1", "latency", "wrk -c1 → bare ReverseProxy → Go backend (what any Go proxy adds)", c1(bareURL))
	h.addOwn("authdev-cookie-c1", "latency", "wrk -c1 → authdev proxy (cookie) → Go backend",
		func(r *rig) load { return c1(r.proxyURL+path, "Cookie: "+r.cookie) })
	// FastAPI, one uvicorn worker, behind a second authdev proxy of each rig.
	if err := h.startFastAPI(c32); err != nil {
		h.miss("FastAPI: %v", err)
	}
	return nil
}

// post is the client_credentials load at 32 connections.
func (h *harness) post(url string) load {
	return load{conns: 32, duration: h.dur, url: url, script: h.ccScript()}
}

// ccScript is wrk's script for a client_credentials token request,
// written once.
func (h *harness) ccScript() string {
	if h.ccLua == "" {
		h.ccLua = writeFile(h.work, "cc.lua", `wrk.method = "POST"
wrk.body = "grant_type=client_credentials&client_id=ci&client_secret=ci-secret"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
`)
	}
	return h.ccLua
}

// addIdPScenarios adds the token, discovery and JWKS scenarios of authdev's
// IdP, a bare signer, oauth2-mock-server and mockoidc.
func (h *harness) addIdPScenarios() error {
	script, c32, post := h.ccScript(), h.c32, h.post
	for _, r := range h.rigs {
		for _, is := range []string{r.issuer, r.issuerRS} {
			if _, err := runWrk(load{conns: 1, duration: time.Second, url: is + "/token", script: script}); err != nil {
				return err
			}
		}
		if err := checkToken(r.issuer + "/token"); err != nil {
			return fmt.Errorf("%s client_credentials: %w", r.name("authdev idp"), err)
		}
	}
	h.addOwn("idp-es256", "tokens", "authdev idp, client_credentials, ES256", func(r *rig) load { return post(r.issuer + "/token") })
	h.addOwn("idp-rs256", "tokens", "authdev idp, client_credentials, RS256", func(r *rig) load { return post(r.issuerRS + "/token") })
	signerPort, err := h.startServer("signer", filepath.Join(h.bin, "signer"), 10*time.Second)
	if err != nil {
		return err
	}
	h.add("bare-rs256-signer", "tokens", "bare Go handler that only signs an RS256 JWT (go-jose)", post(fmt.Sprintf("http://127.0.0.1:%d/token", signerPort)))
	h.addOwn("idp-discovery", "discovery", "authdev idp discovery", func(r *rig) load { return c32(r.issuer + "/.well-known/openid-configuration") })
	h.addOwn("idp-jwks", "jwks", "authdev idp JWKS", func(r *rig) load { return c32(r.issuer + "/jwks.json") })
	h.addMockServer()
	return h.addMockOIDC()
}

func (h *harness) addMockServer() {
	if h.mockServer == "" {
		h.miss("npm oauth2-mock-server@9.3.0: not installed (npm install oauth2-mock-server@9.3.0)")
		return
	}
	msURL, err := h.startMockServer()
	if err != nil {
		h.miss("oauth2-mock-server: %v", err)
		return
	}
	if err := checkToken(msURL + "/token"); err != nil {
		h.miss("oauth2-mock-server client_credentials: %v", err)
	} else {
		h.add("mock-server-rs256", "tokens", "oauth2-mock-server 9.3.0 (node), client_credentials, RS256 (its only generated key type)", h.post(msURL+"/token"))
	}
	h.add("mock-server-discovery", "discovery", "oauth2-mock-server discovery", h.c32(msURL+"/.well-known/openid-configuration"))
	h.add("mock-server-jwks", "jwks", "oauth2-mock-server JWKS", h.c32(msURL+"/jwks"))
}

func (h *harness) addMockOIDC() error {
	if h.mockoidc == "" {
		h.miss("oauth2-proxy/mockoidc: not built (bench/peers/mockoidc)")
		return nil
	}
	port := freePort()
	mp, err := h.ps.start("mockoidc", nil, h.mockoidc, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	if _, err := mp.wait(reListen, 20*time.Second); err != nil {
		h.miss("mockoidc: %v", err)
		return nil
	}
	base := fmt.Sprintf("http://127.0.0.1:%d/oidc", port)
	h.add("mockoidc-discovery", "discovery", "oauth2-proxy/mockoidc discovery", h.c32(base+"/.well-known/openid-configuration"))
	h.add("mockoidc-jwks", "jwks", "oauth2-proxy/mockoidc JWKS", h.c32(base+"/.well-known/jwks.json"))
	return nil
}

// alternate runs every scenario once per round, in the order added; a
// baseline twin runs right beside its scenario (and whenever -only selects
// it), after it in odd rounds and before it in even ones, so that neither
// always follows the same load.
func (h *harness) alternate() {
	for round := 1; round <= h.rounds; round++ {
		for _, s := range h.order {
			if s.group == twinGroup {
				continue
			}
			pair := []*series{s}
			if s.twin != nil {
				pair = append(pair, s.twin)
				if round%2 == 0 {
					slices.Reverse(pair)
				}
			}
			for _, p := range pair {
				if h.selected(s.name) || h.selected(p.name) {
					h.sample(round, p)
				}
			}
		}
	}
}

func (h *harness) sample(round int, s *series) {
	smp, err := runWrk(h.loads[s.name])
	if err != nil {
		s.failures = append(s.failures, err.Error())
		h.logf("round %d %-28s FAILED: %v", round, s.name, err)
		return
	}
	// wrk counts 3xx as success: make sure the credentials still pass (a
	// redirect to the login would be a cheap, wrong figure).
	if l := h.loads[s.name]; len(l.headers) > 0 {
		if err := check(l.url, l.headers[0]); err != nil {
			s.failures = append(s.failures, "after the run: "+err.Error())
			smp.bad++
		}
	}
	s.samples = append(s.samples, smp)
	if s.name == "idp-es256" || s.name == "idp-rs256" {
		h.tokensIssued += smp.requests
	}
	h.logf("round %d %-28s %9.0f req/s  p50 %-9s p99 %-9s bad %d", round, s.name, smp.rps, smp.p50, smp.p99, smp.bad)
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

// printQuick is the whole output of a run with -only: the medians, the
// start-up, memory and Go benchmarks if they were selected, and HEAD beside
// the baseline.
func (h *harness) printQuick() {
	for _, s := range h.order {
		if len(s.samples) > 0 {
			fmt.Printf("%-28s %9.0f req/s  p50 %-9s p99 %-9s runs %s\n", s.name, s.rps(), s.p50(), s.p99(), s.all())
		}
	}
	out := func(format string, a ...any) { fmt.Printf(format, a...) }
	if len(h.startup) > 0 {
		h.reportStartup(out)
	}
	if g := h.head().goBench; g != "" {
		fmt.Printf("\n%s\n", g)
	}
	if h.base() != nil {
		h.reportBeforeAfter(out)
	}
	fmt.Printf("\nload average before / after: %s / %s\n", h.loadBefore, h.loadAfter)
}
