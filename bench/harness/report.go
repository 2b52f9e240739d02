package main

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

func version(argv ...string) string {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "unavailable"
	}
	l := strings.TrimSpace(strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0])
	return l
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			_, v, _ := strings.Cut(l, ":")
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func medianDur(ds []time.Duration) time.Duration {
	var xs []float64
	for _, d := range ds {
		xs = append(xs, float64(d))
	}
	return time.Duration(median(xs))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
func mb(kb int) string          { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

type target struct {
	part, what, measured string
	met                  bool
	known                bool
	by                   string
}

func (h *harness) rate(name string) float64 {
	if s := h.byName[name]; s != nil && len(s.samples) > 0 {
		return s.rps()
	}
	return 0
}

// ratioTarget: authdev's figure a ÷ peer b must be at least want.
func (h *harness) ratioTarget(part, what, a, b string, want float64) target {
	t := target{part: part, what: what}
	ra, rb := h.rate(a), h.rate(b)
	if ra == 0 || rb == 0 {
		t.measured = fmt.Sprintf("not measured (%s: %.0f req/s, %s: %.0f req/s)", a, ra, b, rb)
		return t
	}
	r := ra / rb
	t.known, t.met = true, r >= want
	t.measured = fmt.Sprintf("%.0f ÷ %.0f = %.2f×", ra, rb, r)
	if !t.met {
		t.by = fmt.Sprintf("missed by %.0f%% (%.2f× of the %.2f× wanted)", (1-r/want)*100, r, want)
	}
	return t
}

func maxTarget(part, what string, got, limit float64, unit string, known bool) target {
	t := target{part: part, what: what, known: known}
	if !known {
		t.measured = "not measured"
		return t
	}
	t.met = got <= limit
	t.measured = fmt.Sprintf("%.1f %s", got, unit)
	if !t.met {
		t.by = fmt.Sprintf("missed by %.1f %s (%.0f%% over)", got-limit, unit, (got/limit-1)*100)
	}
	return t
}

func (h *harness) targets() []target {
	var ts []target
	ts = append(ts,
		h.ratioTarget("proxy", "cookie session ≥ 0.9× bare ReverseProxy (tuned transport, pooled buffer), wrk -c32", "authdev-cookie", "bare-rp", 0.9),
		h.ratioTarget("proxy", "cookie session ≥ 4× oauth2-proxy v7.15.6 cookie session", "authdev-cookie", "oauth2-proxy-cookie", 4),
	)
	d, a := h.byName["direct-c1"], h.byName["authdev-cookie-c1"]
	if d != nil && a != nil && len(d.samples) > 0 && len(a.samples) > 0 {
		added := float64(a.p50()-d.p50()) / 1e3
		t := maxTarget("proxy", "added p50 latency over direct at one connection ≤ 150 µs", added, 150, "µs", true)
		t.measured = fmt.Sprintf("%s − %s = %.0f µs", a.p50(), d.p50(), added)
		ts = append(ts, t)
	} else {
		ts = append(ts, maxTarget("proxy", "added p50 latency over direct at one connection ≤ 150 µs", 0, 150, "µs", false))
	}
	ts = append(ts, h.ratioTarget("proxy", "in front of one-worker FastAPI ≥ 0.8× direct", "fastapi-authdev", "fastapi-direct", 0.8))
	p := h.startup["authdev proxy"]
	ts = append(ts, maxTarget("proxy", "`authdev proxy` ready ≤ 50 ms after exec (keys in the state store), median of 5", float64(medianDur(p))/1e6, 50, "ms", len(p) > 0))
	ts = append(ts, maxTarget("proxy", "`authdev proxy` idle RSS ≤ 20 MB", float64(h.rss["authdev proxy idle"])/1024, 20, "MB", h.rss["authdev proxy idle"] > 0))
	ts = append(ts, h.ratioTarget("idp", "client_credentials ES256 ≥ 5× oauth2-mock-server (RS256, its generated key)", "idp-es256", "mock-server-rs256", 5))
	ts = append(ts, h.ratioTarget("idp", "client_credentials RS256 ≥ 0.9× a bare Go RS256-signing handler", "idp-rs256", "bare-rs256-signer", 0.9))
	if s := h.byName["idp-rs256"]; s != nil && len(s.samples) > 0 {
		r := tailRatio(s)
		t := maxTarget("idp", "RS256 at saturation (c32): p99 ≤ 3× p50", r, 3, "×", true)
		t.measured = fmt.Sprintf("p99 %s ÷ p50 %s = %.2f×", s.p99(), s.p50(), r)
		ts = append(ts, t)
	}
	i := h.startup["authdev idp"]
	ts = append(ts, maxTarget("idp", "`authdev idp` answers discovery ≤ 60 ms after exec (keys in the state store), median of 5", float64(medianDur(i))/1e6, 60, "ms", len(i) > 0))
	ts = append(ts, maxTarget("idp", "`authdev idp` idle RSS < 20 MB", float64(h.rss["authdev idp idle"])/1024, 20, "MB", h.rss["authdev idp idle"] > 0))
	after := h.rss["authdev idp after tokens"]
	t := maxTarget("idp", "`authdev idp` RSS < 60 MB after 500k tokens", float64(after)/1024, 60, "MB", after > 0 && h.tokensIssued >= 500_000)
	if after > 0 {
		t.measured = fmt.Sprintf("%s after %d tokens", mb(after), h.tokensIssued)
	}
	ts = append(ts, t)
	g := h.head().goBench
	cold, warm, keys := benchNs(g, "BenchmarkStackStartup/cold"), benchNs(g, "BenchmarkStackStartup/warm"), benchNs(g, "BenchmarkStackStartup/rsa-keys")
	t = maxTarget("test", "`authdev test`'s in-process stack starts ≤ 150 ms (a cold store: its keys generated)", cold/1e6, 150, "ms", cold > 0)
	if cold > 0 {
		t.measured = fmt.Sprintf("%.0f ms cold (three RSA-2048 keys; mean of 20 starts), %.1f ms with the keys in the store; the three keys alone, generated in parallel: %.0f ms", cold/1e6, warm/1e6, keys/1e6)
	}
	ts = append(ts, t)
	run := benchNs(h.head().goBench, "BenchmarkRun200ChecksX3Envs")
	ts = append(ts, maxTarget("test", "200 checks × 3 environments against the FastAPI example < 10 s", run/1e9, 10, "s", run > 0))
	return ts
}

func (h *harness) report() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	h.reportMachine(w)
	h.reportTargets(w)
	if h.base() != nil {
		h.reportBeforeAfter(w)
	}
	h.reportGroups(w)
	h.reportStartup(w)
	h.reportBenchmarks(w)
	return b.String()
}

// printer appends to the report.
type printer func(format string, a ...any)

func (h *harness) reportMachine(w printer) {
	w("# authdev benchmarks (`make bench`)\n\n")
	w("Written by `bench/run.sh` on %s; the whole run took %s. Every server ran on loopback on this machine,\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), time.Since(h.started).Round(time.Second))
	w("alternating: each round runs every scenario once, in the order of the tables, and the figures are medians of %d rounds of %s each.\n\n", h.rounds, h.dur)
	w("## Machine\n\n")
	w("| | |\n|---|---|\n")
	w("| CPU | %s, %d logical cores (GOMAXPROCS %d) |\n", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	w("| kernel | %s |\n", version("uname", "-sr"))
	w("| load average before / after | %s / %s |\n", h.loadBefore, h.loadAfter)
	w("| shared | yes: other engineers build and test in the same tree on the same 2 cores, so absolute figures vary between runs; ratios from one alternating run are what counts |\n")
	w("| load tool | %s, `-t1`, one thread of load on the same cores as the servers |\n", version("wrk", "-v"))
	w("| authdev | %s (built by run.sh: CGO_ENABLED=0 -trimpath) |\n", version(h.head().bin, "version"))
	if b := h.base(); b != nil {
		w("| baseline | %s, revision %s (built by run.sh the same way from `git archive %[2]s`); see Before / after |\n", version(b.bin, "version"), h.baseRev)
	}
	w("| Go | %s |\n", version("go", "version"))
	w("| nginx | %s |\n", version("nginx", "-v"))
	if h.o2p != "" {
		w("| oauth2-proxy | v7.15.6 (go install github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6) |\n")
	}
	if h.mockServer != "" {
		w("| oauth2-mock-server | 9.3.0 (npm) on node %s |\n", version("node", "-v"))
	}
	w("| FastAPI | %s, uvicorn one worker, /usr/bin/python3 |\n", version("/usr/bin/python3", "-c", "import fastapi,uvicorn;print('fastapi',fastapi.__version__,'uvicorn',uvicorn.__version__)"))

	if h.fromHead {
		w("\nThe working tree did not build when this ran (other engineers were mid-edit), so authdev and the Go benchmarks are those of the last commit, `%s`.\n", version("git", "rev-parse", "--short", "HEAD"))
	}
	w("\nauthdev proxy writes one audit line (JSON) per request to stderr, which the harness sends to a file; there is no switch to turn it off, and the figures include it. oauth2-proxy ran with its request, auth and standard logging off.\n")
}

func (h *harness) reportTargets(w printer) {
	w("\n## Targets\n\n| part | target | measured | verdict |\n|---|---|---|---|\n")
	for _, t := range h.targets() {
		v := "**met**"
		switch {
		case !t.known:
			v = "not measured (see Missing)"
		case !t.met:
			v = "**" + t.by + "**"
		}
		w("| %s | %s | %s | %s |\n", t.part, t.what, t.measured, v)
	}
}

// reportGroups writes a table per group of scenarios, each with its
// ratios to authdev's reference scenario and the group's notes.
func (h *harness) reportGroups(w printer) {
	groups := []struct{ key, title, ref string }{
		{"proxy", "Proxy throughput, Go backend, wrk -t1 -c32, plain HTTP", "authdev-cookie"},
		{"latency", "Latency at one connection, wrk -t1 -c1", "authdev-cookie-c1"},
		{"fastapi", "In front of the FastAPI example (one uvicorn worker), wrk -t1 -c32", "fastapi-authdev"},
		{"tokens", "IdP token endpoint, client_credentials, wrk -t1 -c32 POST", "idp-es256"},
		{"discovery", "IdP discovery document, wrk -t1 -c32", "idp-discovery"},
		{"jwks", "IdP JWKS, wrk -t1 -c32", "idp-jwks"},
	}
	for _, g := range groups {
		w("\n## %s\n\n| scenario | what | median req/s | p50 | p99 | runs (req/s) | errors | authdev ÷ this |\n|---|---|---|---|---|---|---|---|\n", g.title)
		ref := h.rate(g.ref)
		for _, s := range h.order {
			if s.group != g.key {
				continue
			}
			ratio := ""
			if r := s.rps(); r > 0 && ref > 0 && s.name != g.ref {
				ratio = fmt.Sprintf("%.2f×", ref/r)
			}
			if g.key == "proxy" && strings.HasPrefix(s.name, "authdev-bearer") {
				ratio = ""
			}
			if len(s.failures) > 0 {
				ratio += fmt.Sprintf(" (%d runs failed: %.200s)", len(s.failures), s.failures[0])
			}
			w("| %s | %s | %.0f | %s | %s | %s | %d | %s |\n", s.name, s.what, s.rps(), s.p50(), s.p99(), s.all(), s.bad(), ratio)
		}
		h.groupNotes(w, g.key, ref)
	}
}

// groupNotes are the figures under a group's table that compare more than
// one scenario.
func (h *harness) groupNotes(w printer, key string, ref float64) {
	if key == "proxy" {
		if bb := h.rate("authdev-bearer"); bb > 0 {
			w("\nauthdev with a bearer token: %.0f req/s; ÷ oauth2-proxy bearer: %s; ÷ bare ReverseProxy: %s.\n", bb, ratioOf(bb, h.rate("oauth2-proxy-bearer")), ratioOf(bb, h.rate("bare-rp")))
		}
	}
	if d, b, a := h.byName["direct-c1"], h.byName["bare-rp-c1"], h.byName["authdev-cookie-c1"]; key == "latency" && d != nil && b != nil && a != nil &&
		len(d.samples) > 0 && len(b.samples) > 0 && len(a.samples) > 0 {
		w("\nAdded p50 over direct: bare ReverseProxy %.0f µs, authdev %.0f µs.\n", float64(b.p50()-d.p50())/1e3, float64(a.p50()-d.p50())/1e3)
	}
	if key == "tokens" {
		w("\nRS256 ÷ bare RS256 signer: %s; ES256 ÷ oauth2-mock-server: %s; RS256 ÷ oauth2-mock-server: %s.\n",
			ratioOf(h.rate("idp-rs256"), h.rate("bare-rs256-signer")), ratioOf(h.rate("idp-es256"), h.rate("mock-server-rs256")), ratioOf(h.rate("idp-rs256"), h.rate("mock-server-rs256")))
	}
	if key == "discovery" || key == "jwks" {
		other := map[string]string{"discovery": "mock-server-discovery", "jwks": "mock-server-jwks"}[key]
		w("\nauthdev ÷ oauth2-mock-server: %s; authdev ÷ mockoidc: %s.\n", ratioOf(ref, h.rate(other)), ratioOf(ref, h.rate("mockoidc-"+key)))
	}
}

func (h *harness) reportStartup(w printer) {
	w("\n## Start-up and memory\n\nStart-up is exec to the first 200 of the URL named, polled every millisecond; median of the runs listed.\n")
	w("RSS is VmRSS from /proc 1.5 s after the first start (idle), or after the load named.\n\n| what | median | runs |\n|---|---|---|\n")
	for _, k := range slices.Sorted(maps.Keys(h.startup)) {
		if strings.HasSuffix(k, twinSuffix) {
			continue // in Before / after
		}
		var rs []string
		for _, d := range h.startup[k] {
			rs = append(rs, ms(d))
		}
		what := k
		switch k {
		case "authdev idp", "oauth2-mock-server", "mockoidc":
			what += " → discovery"
		case "authdev proxy", "authdev up (cold)", "authdev up (warm)":
			what += " → /.authdev/health"
		}
		w("| %s | %s | %s |\n", what, ms(medianDur(h.startup[k])), strings.Join(rs, ", "))
	}
	for _, peer := range []string{"oauth2-mock-server", "mockoidc"} {
		if a, b := medianDur(h.startup["authdev idp"]), medianDur(h.startup[peer]); a > 0 && b > 0 {
			w("\nauthdev idp start-up ÷ %s: %.2f× (lower is better).\n", peer, float64(a)/float64(b))
		}
	}
	w("\n| process | RSS |\n|---|---|\n")
	for _, k := range slices.Sorted(maps.Keys(h.rss)) {
		if strings.HasSuffix(k, twinSuffix) {
			continue // in Before / after
		}
		w("| %s | %s |\n", k, mb(h.rss[k]))
	}
	for _, peer := range []string{"oauth2-mock-server", "mockoidc"} {
		if a, b := h.rss["authdev idp idle"], h.rss[peer+" idle"]; a > 0 && b > 0 {
			w("\nauthdev idp idle RSS ÷ %s: %.2f× (lower is better).\n", peer, float64(a)/float64(b))
		}
	}
	w("\n`authdev up` cold: an empty state store (keys, CA and secrets created); warm: the same store again. Both with the built-in demo, TLS on, embedded demo backend.\n")
	for k, v := range h.cli {
		w("\n%s: %s\n", k, v)
	}
}

func (h *harness) reportBenchmarks(w printer) {
	w("\n## Go benchmarks (`go test -bench -benchmem`: the hot paths for 300ms each, `authdev test`'s stack started 20 times, its 200 × 3 checks run 5 times)\n\n```\n%s\n```\n", h.head().goBench)

	if a, b := benchNs(h.head().goBench, "BenchmarkProxyAuthenticated"), benchNs(h.head().goBench, "BenchmarkBareReverseProxy"); a > 0 && b > 0 {
		w("\nIn process, without sockets on the client side, the whole authenticated proxy path costs %.0f ns a request against %.0f ns for the bare ReverseProxy: %.2f× its throughput, against %.2f× over the wire with wrk above.\n",
			a, b, b/a, h.rate("authdev-cookie")/max(h.rate("bare-rp"), 1))
	}

	if s, o := benchNs(h.head().goBench, "BenchmarkSAMLLogin"), benchNs(h.head().goBench, "BenchmarkOIDCCodeFlow"); s > 0 && o > 0 {
		w("\nA SAML login round trip at the IdP (AuthnRequest by HTTP-Redirect with login_hint → HTTP-POST form with a signed response and assertion) runs %.0f/s on the machine's cores, beside %.0f/s for the OIDC code flow (authorize → code → token with PKCE): %.2f× its rate.\n",
			1e9/s, 1e9/o, o/s)
	}

	w("\n## Commands\n\n```\n")
	for _, s := range h.order {
		w("%-28s %s\n", s.name+":", s.cmd)
	}
	w("```\n\nServers: `authdev idp --config bench.yaml` (env `dev` ES256, env `rs` RS256, token_ttl 1h, client `ci` for client_credentials), `authdev proxy --config bench.yaml` (upstream the Go backend, one policy, the 3 default identity headers, the ES256 assertion; cookie from a real login through the IdP; bearer = an access token for alice from code + PKCE), `bench/backend`, `bench/bareproxy`, `bench/signer`, nginx with `bench`'s generated config, oauth2-proxy with `--provider=oidc` against `authdev idp` (client `oauth2-proxy`, cookie from a real login through its /oauth2/start), `node oauth2-mock-server.mjs -a 127.0.0.1 -p PORT`.\n")

	w("\n## Missing or failed\n\n")
	if len(h.missing) == 0 {
		w("Nothing: every peer and figure was measured (mockoidc has no client_credentials grant, so it has no token figure).\n")
	}
	for _, m := range h.missing {
		w("- %s\n", m)
	}
}

func ratioOf(a, b float64) string {
	if a == 0 || b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
