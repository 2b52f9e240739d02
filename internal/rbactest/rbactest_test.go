package rbactest

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/junit/junittest"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/stack/stacktest"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/internal/testkit"
)

// withChecks is the demo with its checks replaced.
func withChecks(t testing.TB, checks string) *config.Config {
	t.Helper()
	src := string(config.DemoYAML())
	return testkit.Config(t, src[:strings.Index(src, "checks:")]+"checks:\n"+checks)
}

func startDemo(t testing.TB, cfg *config.Config) *InProcess {
	t.Helper()
	ip, err := StartInProcess(InProcessOptions{Config: cfg, Store: state.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ip.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return ip
}

func TestPlanChoosesEnvironmentsPerCheck(t *testing.T) {
	t.Parallel()
	cfg := withChecks(t, `
  - {as: alice, request: GET /a, expect: allow}
  - {as: bob, request: GET /b, expect: deny, envs: [prod]}
  - {as: carol, request: GET /c, expect: {staging: 403, prod: allow}}
  - {as: eve, request: POST /d, expect: {dev: allow}, envs: [dev, prod]}
`)
	for _, tc := range []struct {
		name    string
		envs    []string
		want    []string // check index:env
		wantErr string
	}{
		{name: "every environment by default, envs: and expect maps narrow it, a map missing a listed env is a problem",
			wantErr: `check "eve POST /d" runs in "prod" but its expect map has no "prod"`},
		{name: "--env keeps only that environment", envs: []string{"staging"}, want: []string{"0:staging", "2:staging"}},
		{name: "an unknown --env is refused", envs: []string{"qa"}, wantErr: `unknown environment "qa": use one of`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cases, err := Plan(cfg, tc.envs)
			if testkit.WantErr(t, err, tc.wantErr) {
				return
			}
			var got []string
			for _, c := range cases {
				got = append(got, fmt.Sprintf("%d:%s", c.Index, c.Env))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("cases %v, want %v", got, tc.want)
			}
		})
	}
	cases, err := Plan(withChecks(t, "  - {as: carol, request: GET /c, expect: {staging: 403, prod: allow}}\n"), nil)
	if err != nil || len(cases) != 2 || cases[0].Env != "staging" || cases[0].Expect != "403" || cases[1].Expect != "allow" {
		t.Fatalf("an expect map runs in its environments with their expectations: %+v, %v", cases, err)
	}
}

func TestTheDemoChecksPassThroughAnInProcessStack(t *testing.T) {
	t.Parallel()
	cfg := testkit.DemoConfig(t)
	ip := startDemo(t, cfg)
	cases, err := Plan(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	results := Run(context.Background(), ip, cases, Options{})
	if len(results) != 27 {
		t.Fatalf("%d results, want 9 checks × 3 environments", len(results))
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s in %s: %s", r.Name, r.Env, r.Reason)
		}
		if r.Outcome == OutcomeDeny && r.Policy == "" {
			t.Errorf("%s in %s was denied without naming the policy", r.Name, r.Env)
		}
	}
	rep := NewReport(cfg.EnvironmentNames(), results, 0)
	if s := rep.Summary(); s.Checks != 9 || s.Passed != 27 || s.Differ != 1 || !rep.OK() {
		t.Fatalf("summary %+v", s)
	}
}

func TestWrongExpectationsFailWithTheReason(t *testing.T) {
	t.Parallel()
	cfg := withChecks(t, `
  - {name: bob is an admin everywhere, as: bob, request: GET /admin/users, expect: allow}
  - {as: carol, request: GET /admin/users, expect: 200, via: bearer, envs: [dev]}
  - {as: eve, request: GET /nowhere, expect: 200, envs: [dev]}
  - {as: alice, request: DELETE /admin/users, expect: deny, envs: [dev]}
`)
	ip := startDemo(t, cfg)
	cases, err := Plan(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	results := Run(context.Background(), ip, cases, Options{Parallel: 4})
	got := map[string]Result{}
	for _, r := range results {
		got[r.Name+via(r)+"/"+r.Env] = r
	}
	for _, tc := range []struct {
		key, outcome, policy, reason string
		pass                         bool
	}{
		{"bob is an admin everywhere/dev", "allow", DefaultPolicy, "", true},
		{"bob is an admin everywhere/prod", "deny", "admin-area", `expected allow, got deny (403) from the proxy: denied by policy "admin-area"`, false},
		{"carol GET /admin/users (bearer)/dev", "deny", "admin-area", `expected 200, got deny (403)`, false},
		{"eve GET /nowhere/dev", "allow", DefaultPolicy, "", true},
		{"alice DELETE /admin/users/dev", "allow", DefaultPolicy, "expected deny, got allow (200) from the backend, let through by the proxy's default authorization action", false},
	} {
		r, ok := got[tc.key]
		if !ok {
			t.Errorf("no result for %s", tc.key)
			continue
		}
		if r.Outcome != tc.outcome || r.Policy != tc.policy || r.Pass != tc.pass || !strings.Contains(r.Reason, tc.reason) {
			t.Errorf("%s: outcome %q policy %q pass %v reason %q; want %q %q %v %q", tc.key, r.Outcome, r.Policy, r.Pass, r.Reason, tc.outcome, tc.policy, tc.pass, tc.reason)
		}
	}
}

func TestARunningProxyIsSwitchedPerEnvironmentAndRestored(t *testing.T) {
	t.Parallel()
	cfg := testkit.DemoConfig(t)
	store := state.NewMemory()
	s := stacktest.Start(t, stack.Options{Config: cfg, Store: store, Persona: "alice", Env: "staging"})
	secrets, err := stack.LoadSecrets(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	remote := NewRemote(s.ProxyURL(), secrets.ControlToken, s.CA().Pool(), s.IdP().Issuer)
	cases, err := Plan(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// With alice active, a browser login would silently be alice's: the
	// run must clear the persona so that each check logs in as its own.
	for _, r := range Run(context.Background(), remote, cases, Options{}) {
		if !r.Pass {
			t.Errorf("%s in %s: %s", r.Name, r.Env, r.Reason)
		}
	}
	if err := remote.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p, e := s.Active(); p != "alice" || e != "staging" {
		t.Fatalf("after the run the proxy has %q in %q active, want alice in staging back", p, e)
	}
	bad := NewRemote(s.ProxyURL(), "wrong-token", s.CA().Pool(), s.IdP().Issuer)
	res := Run(context.Background(), bad, cases[:1], Options{})
	if res[0].Outcome != OutcomeError || !strings.Contains(res[0].Reason, "control token") {
		t.Fatalf("a wrong control token: %+v", res[0])
	}
}

func TestClassifyReadsWhoDecided(t *testing.T) {
	t.Parallel()
	proxyHTML := `<html><pre>denied by policy &#34;admin-area&#34;</pre><footer>authdev ADC-emulating proxy</footer></html>`
	for _, tc := range []struct {
		name, ctype, body, location string
		status                      int
		outcome, by, policy         string
	}{
		{"the proxy's 403 page names the policy", "text/html", proxyHTML, "", 403, "deny", "proxy", "admin-area"},
		{"the proxy's JSON 403 names the policy", "application/json", `{"status":403,"error":"Forbidden","message":"m","detail":"denied by policy \"x\""}`, "", 403, "deny", "proxy", "x"},
		{"the default action is named as such", "text/html", `<pre>denied by the default authorization action</pre><footer>authdev ADC-emulating proxy</footer>`, "", 403, "deny", "proxy", DefaultPolicy},
		{"a backend's 401 is a deny by the backend", "application/json", `{"detail":"nope"}`, "", 401, "deny", "backend", ""},
		{"a backend's 302 is an allow", "text/html", "", "/elsewhere", 302, "allow", "backend", ""},
		{"a redirect to the IdP is a lost session", "text/html", "", "http://localhost:1/dev/authorize?x", 302, "302", "proxy", ""},
		{"the proxy's 404 is a status", "text/html", `<pre>no upstream</pre><footer>authdev ADC-emulating proxy</footer>`, "", 404, "404", "proxy", ""},
		{"a backend's 500 is a status", "text/plain", "boom", "", 500, "500", "backend", ""},
		{"the proxy's 502 means the check did not run", "text/html", `<pre>dial tcp: refused</pre><footer>authdev ADC-emulating proxy</footer>`, "", 502, OutcomeError, "proxy", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Type", tc.ctype)
			if tc.location != "" {
				rec.Header().Set("Location", tc.location)
			}
			rec.WriteHeader(tc.status)
			var res Result
			classify(&res, rec.Result(), []byte(tc.body))
			if res.Outcome != tc.outcome || res.By != tc.by || res.Policy != tc.policy {
				t.Fatalf("outcome %q by %q policy %q, want %q %q %q", res.Outcome, res.By, res.Policy, tc.outcome, tc.by, tc.policy)
			}
		})
	}
}

func sampleReport() Report {
	pos := config.Pos{File: "authdev.yaml", Line: 7}
	return NewReport([]string{"dev", "prod"}, []Result{
		{Index: 0, Name: "bob GET /admin", Env: "dev", Expect: "allow", Outcome: "allow", Status: 200, By: "backend", Pass: true, Pos: pos},
		{Index: 0, Name: "bob GET /admin", Env: "prod", Expect: "allow", Outcome: "deny", Status: 403, By: "proxy", Policy: "admin-area",
			Reason: `expected allow, got deny (403) from the proxy: denied by policy "admin-area"`, Pos: pos},
		{Index: 1, Name: "eve GET /", Env: "dev", Expect: "allow", Outcome: OutcomeError, Reason: "logging eve in: refused"},
		{Index: 2, Name: "carol GET /", Env: "prod", Expect: "allow", Outcome: "allow", Status: 200, Pass: true, Via: "bearer"},
	}, 0)
}

func TestJUnitHasACasePerCheckAndEnvironmentWithFailuresAndErrors(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := sampleReport().WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	doc := junittest.Decode(t, buf.Bytes())
	if doc.Tests != 4 || doc.Failures != 1 || doc.Errors != 1 || len(doc.Suites) != 2 {
		t.Fatalf("tests %d failures %d errors %d suites %d", doc.Tests, doc.Failures, doc.Errors, len(doc.Suites))
	}
	f := doc.Suites[1].Cases[0].Failure
	if f == nil || f.Message != "expected allow, got deny (403)" || !strings.Contains(f.Text, `policy "admin-area"`) {
		t.Fatalf("the prod failure is %+v", f)
	}
	if doc.Suites[0].Cases[1].Error == nil {
		t.Fatal("the check that could not run is not an error")
	}
}

func TestTextReportHasTableMatrixAndSummary(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := sampleReport().WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !regexp.MustCompile(`bob GET /admin +dev +✓ +allow +allow +200 +backend`).MatchString(out) {
		t.Errorf("the table has no passing row for bob in dev:\n%s", out)
	}
	for _, want := range []string{
		"policy admin-area",
		"✗ authdev.yaml:7: bob GET /admin in prod: expected allow",
		"!  bob GET /admin",
		"carol GET / (bearer)",
		"FAILED: 3 checks × 2 environments: 4 run, 2 passed, 1 failed, 1 could not run; 1 differ between environments",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestRecordWritesOutcomesKeepingComments(t *testing.T) {
	t.Parallel()
	src := `# my checks
personas: {bob: {}}
environments: {dev: {}, prod: {}, qa: {}}
checks:
  # the admin area
  - {as: bob, request: GET /admin, expect: allow}  # was a guess
  - as: bob
    request: GET /
    expect: {dev: deny, prod: deny, qa: allow}
  - {as: bob, request: GET /x, expect: deny}
`
	recs := Expectations([]Result{
		{Index: 0, Env: "dev", Outcome: "allow"}, {Index: 0, Env: "prod", Outcome: "deny"},
		{Index: 1, Env: "dev", Outcome: "allow"}, {Index: 1, Env: "prod", Outcome: "allow"},
		{Index: 2, Env: "dev", Outcome: "404"}, {Index: 2, Env: "prod", Outcome: OutcomeError},
	})
	out, err := Record([]byte(src), recs, []string{"dev", "prod"})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		"# my checks", "# the admin area", "# was a guess",
		"expect: {dev: allow, prod: deny}",
		"expect: {dev: allow, prod: allow, qa: allow}",
		"{as: bob, request: GET /x, expect: deny}",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("recorded config lacks %q:\n%s", want, got)
		}
	}
	cfg, err := config.Parse(out, "recorded.yaml", t.TempDir(), config.Options{})
	if err != nil {
		t.Fatalf("the recorded config does not load: %v", err)
	}
	if cfg.Checks[0].Expect.For("prod") != "deny" || cfg.Checks[1].Expect.For("qa") != "allow" {
		t.Fatalf("recorded expectations %+v", cfg.Checks)
	}
}

func TestJudgeComparesOutcomesAndStatuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		in              Result
		pass            bool
		outcome, reason string
	}{
		{"allow holds for an allowed answer", Result{Expect: "allow", Outcome: "allow", Status: 302}, true, "allow", ""},
		{"deny does not hold for an allowed answer", Result{Expect: "deny", Outcome: "allow", Status: 200, By: "backend"}, false, "allow", "expected deny, got allow (200) from the backend"},
		{"a status holds for that status", Result{Expect: "403", Outcome: "deny", Status: 403}, true, "deny", ""},
		{"an expected 502 holds though the check did not reach the backend", Result{Expect: "502", Outcome: OutcomeError, Status: 502}, true, "502", ""},
		{"a check that did not run fails with its reason", Result{Expect: "allow", Outcome: OutcomeError, Reason: "logging in: refused"}, false, OutcomeError, "expected allow, but the check could not run: logging in: refused"},
		{"a backend the proxy cannot reach is named", Result{Expect: "allow", Outcome: OutcomeError, Status: 502, By: "proxy", Reason: "dial tcp: refused"}, false, OutcomeError, "expected allow, but the check could not run (502 from the proxy): dial tcp: refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.in
			judge(&r)
			if r.Pass != tc.pass || r.Outcome != tc.outcome || r.Reason != tc.reason {
				t.Fatalf("pass %v outcome %q reason %q; want %v %q %q", r.Pass, r.Outcome, r.Reason, tc.pass, tc.outcome, tc.reason)
			}
		})
	}
}

func TestRecordChangesOnlyTheExpectValuesInTheText(t *testing.T) {
	t.Parallel()
	src := `# my checks
personas: {bob: {}, "zoë": {}}

environments: {dev: {}, prod: {}}

checks:
    # four spaces, blank lines and a block map, as people write them
    - {as: bob, request: GET /admin, expect: "allow"}   # a guess

    - as: zoë
      request: GET /é
      expect:
        dev: deny
        prod: deny
      # trailing comment
    - {as: bob, request: GET /x, expect: 404}
`
	want := `# my checks
personas: {bob: {}, "zoë": {}}

environments: {dev: {}, prod: {}}

checks:
    # four spaces, blank lines and a block map, as people write them
    - {as: bob, request: GET /admin, expect: {dev: allow, prod: deny}}   # a guess

    - as: zoë
      request: GET /é
      expect: {dev: allow, prod: deny}
      # trailing comment
    - {as: bob, request: GET /x, expect: allow}
`
	recs := Expectations([]Result{
		{Index: 0, Env: "dev", Outcome: "allow"}, {Index: 0, Env: "prod", Outcome: "deny"},
		{Index: 1, Env: "dev", Outcome: "allow"}, {Index: 1, Env: "prod", Outcome: "deny"},
		{Index: 2, Env: "dev", Outcome: "allow"}, {Index: 2, Env: "prod", Outcome: "allow"},
	})
	out, err := Record([]byte(src), recs, []string{"dev", "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want {
		t.Fatalf("recorded:\n%s\nwant:\n%s", out, want)
	}
}

func TestAnAllowedRequestNamesThePolicyThatLetItThrough(t *testing.T) {
	t.Parallel()
	src := string(config.DemoYAML())
	src = strings.Replace(src, "  default_authorization: ALLOW\n  policies:\n", `  default_authorization: DENY
  policies:
    - name: everyone-reads
      rule: HTTP.REQ.METHOD.EQ(GET) && !HTTP.REQ.URL.PATH.STARTSWITH("/admin")
      action: ALLOW
`, 1)
	cfg := testkit.Config(t, src[:strings.Index(src, "checks:")]+`checks:
  - {name: reads, as: eve, request: GET /reports/q3, expect: allow, envs: [dev]}
  - {name: own id, as: eve, request: GET /, headers: {X-Request-Id: mine}, expect: allow, envs: [dev]}
  - {name: writes, as: alice, request: POST /reports/q3, expect: deny, envs: [dev]}
`)
	ip := startDemo(t, cfg)
	cases, err := Plan(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Result{}
	for _, r := range Run(context.Background(), ip, cases, Options{Parallel: 4}) {
		got[r.Name] = r
	}
	if r := got["reads"]; r.Outcome != OutcomeAllow || r.Policy != "everyone-reads" || !r.Pass {
		t.Errorf("reads: %+v", r)
	}
	// A check with its own X-Request-Id keeps it, and so has no policy.
	if r := got["own id"]; r.Outcome != OutcomeAllow || r.Policy != "" || !r.Pass {
		t.Errorf("own id: %+v", r)
	}
	if r := got["writes"]; r.Outcome != OutcomeDeny || r.Policy != DefaultPolicy || !r.Pass {
		t.Errorf("writes: %+v", r)
	}
	rep := NewReport(cfg.EnvironmentNames(), Run(context.Background(), ip, cases[:1], Options{}), 0)
	var table strings.Builder
	rep.WriteText(&table)
	if !strings.Contains(table.String(), "policy everyone-reads") {
		t.Errorf("the table does not name the allowing policy:\n%s", table.String())
	}
}

// Checks with via: saml log in through the IdP's SAML side even where the
// proxy's browser logins are OIDC: the session then carries Entra's SAML
// claim URIs, which a policy can tell from an OIDC session's claims.
func TestChecksViaSAMLLogInWithSAML(t *testing.T) {
	src := string(config.DemoYAML())
	src = strings.Replace(src, "  policies:\n", `  policies:
    - name: saml-only
      rule: HTTP.REQ.URL.PATH.STARTSWITH("/saml-only") && !AAA.USER.ATTRIBUTE("http://schemas.microsoft.com/identity/claims/displayname").EQ("Alice Admin")
      action: DENY
`, 1)
	src = src[:strings.Index(src, "checks:")] + `checks:
  - {name: over SAML, as: alice, request: GET /saml-only, expect: allow, via: saml, envs: [prod]}
  - {name: over OIDC, as: alice, request: GET /saml-only, expect: deny, envs: [prod]}
  - {name: groups over SAML, as: bob, request: GET /admin/users, expect: {dev: allow, staging: deny, prod: deny}, via: saml}
`
	cfg := testkit.Config(t, src)
	ip := startDemo(t, cfg)
	cases, err := Plan(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	results := Run(context.Background(), ip, cases, Options{Parallel: 2})
	if len(results) != 5 {
		t.Fatalf("%d results, want 5", len(results))
	}
	for _, r := range results {
		if !r.Pass || r.Outcome == OutcomeError {
			t.Errorf("%s in %s: %s %s", r.Name, r.Env, r.Outcome, r.Reason)
		}
	}
}
