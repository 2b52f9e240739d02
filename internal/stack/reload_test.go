package stack

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/cfgwatch"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/internal/testkit"
)

// watched is a stack of `authdev up` on a temp authdev.yaml, with the
// config watcher `authdev up` runs on it.
type watched struct {
	t       *testing.T
	path    string
	s       *Stack
	w       *cfgwatch.Watcher
	events  <-chan audit.Event
	backend string
}

func startWatched(t *testing.T) *watched {
	t.Helper()
	w := &watched{t: t, path: filepath.Join(t.TempDir(), "authdev.yaml"), backend: whoBackend(t)}
	w.write(testkit.RolesYAML)
	cfg, err := testkit.LoadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	w.s = startUp(t, Options{Config: cfg, ConfigFile: w.path})
	var cancel func()
	w.events, cancel = w.s.Subscribe()
	t.Cleanup(cancel)
	w.w, err = cfgwatch.New(cfg, cfgwatch.Options{Path: w.path, Load: testkit.LoadFile, Apply: w.s.Reload, Notify: w.s.Notify})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *watched) write(yaml string) {
	w.t.Helper()
	if err := os.WriteFile(w.path, []byte(strings.ReplaceAll(yaml, "BACKEND", w.backend)), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// as sends GET path with a bearer token of persona.
func (w *watched) as(persona, path string) (int, map[string]string) {
	w.t.Helper()
	tok, err := w.s.Token(persona, "dev")
	if err != nil {
		w.t.Fatal(err)
	}
	var got map[string]string
	code := getJSON(w.t, http.DefaultClient, w.s.ProxyURL()+path, http.Header{"Authorization": {"Bearer " + tok}}, &got)
	return code, got
}

// notice waits for a notice whose message matches re.
func (w *watched) notice(re string) audit.Event {
	w.t.Helper()
	want := regexp.MustCompile(re)
	var seen []string
	var found audit.Event
	held := testkit.Eventually(testkit.WaitTimeout, func() bool {
		for {
			select {
			case e := <-w.events:
				if e.Kind != audit.KindNotice {
					continue
				}
				if want.MatchString(e.Message) {
					found = e
					return true
				}
				seen = append(seen, e.Message)
			default:
				return false
			}
		}
	})
	if !held {
		w.t.Fatalf("no notice matches %q; saw %q", re, seen)
	}
	return found
}

func TestAChangedPolicyAppliesToTheRunningStackAndABrokenFileKeepsIt(t *testing.T) {
	t.Parallel()
	w := startWatched(t)
	if code, _ := w.as("bob", "/reports"); code != http.StatusOK {
		t.Fatalf("before the change bob gets /reports: %d", code)
	}
	w.write(strings.Replace(testkit.RolesYAML, `STARTSWITH("/admin")`, `STARTSWITH("/reports")`, 1))
	w.w.Poll()
	w.notice(`^config reloaded: policies ~admin-area$`)
	if code, _ := w.as("bob", "/reports"); code != http.StatusForbidden {
		t.Fatalf("after the change bob still gets /reports: %d", code)
	}
	if code, _ := w.as("alice", "/reports"); code != http.StatusOK {
		t.Fatalf("after the change alice (admin) is refused /reports: %d", code)
	}

	// Line 12 is the rule: an expression that does not compile.
	w.write(strings.Replace(testkit.RolesYAML, `STARTSWITH("/admin")`, `STARTSWITH("/admin"`, 1))
	w.w.Poll()
	n := w.notice(`running config stays`)
	if n.Level != "error" || !strings.Contains(n.Message, "authdev.yaml:12:") {
		t.Errorf("the broken file's notice %q (level %s) does not name authdev.yaml:12", n.Message, n.Level)
	}
	if code, _ := w.as("bob", "/reports"); code != http.StatusForbidden {
		t.Fatalf("a broken file changed the running policy: bob gets /reports: %d", code)
	}
	if code, _ := w.as("bob", "/admin"); code != http.StatusOK {
		t.Fatalf("a broken file changed the running policy: bob is refused /admin: %d", code)
	}
}

func TestPersonasRolesAndUpstreamsChangeLive(t *testing.T) {
	t.Parallel()
	w := startWatched(t)
	before, err := w.s.Token("bob", "dev")
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		json.NewEncoder(rw).Encode(map[string]string{"user": "from the new upstream"})
	}))
	defer other.Close()
	next := strings.Replace(testkit.RolesYAML, "eng: [reader]", "eng: [writer]", 1)
	next = strings.Replace(next, "environments:", "  dave: {email: dave@example.com, groups: [eng]}\nenvironments:", 1)
	next = strings.Replace(next, `    - {name: api, targets: ["BACKEND"]}`,
		`    - {name: api, targets: ["BACKEND"]}`+"\n"+`    - {name: other, prefix: /other, targets: ["`+other.URL+`"]}`, 1)
	w.write(next)
	w.w.Poll()
	w.notice(`^config reloaded: personas \+dave; environments ~dev; upstreams \+other$`)

	if code, got := w.as("dave", "/x"); code != http.StatusOK || got["user"] != "dave@example.com" || got["roles"] != "writer" {
		t.Fatalf("the new persona: %d %v", code, got)
	}
	var got map[string]string
	if code := getJSON(t, http.DefaultClient, w.s.ProxyURL()+"/x", http.Header{"Authorization": {"Bearer " + before}}, &got); code != http.StatusOK || got["roles"] != "writer" {
		t.Fatalf("a token from before the reload: %d %v, want 200 with the new role", code, got)
	}
	if code, got := w.as("bob", "/other/y"); code != http.StatusOK || got["user"] != "from the new upstream" {
		t.Fatalf("the new upstream: %d %v", code, got)
	}
	if ids := w.s.Config().PersonaIDs(); len(ids) != 3 || ids[2] != "dave" {
		t.Errorf("the personas the TUI reads after the reload: %v", ids)
	}
}

func TestSettingsThatNeedARestartAreNamedAndTheRestApplies(t *testing.T) {
	t.Parallel()
	w := startWatched(t)
	if err := w.s.Activate("bob"); err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(testkit.RolesYAML, "  tls: false\n", "  tls: false\n  hostnames: [app.test]\n  idle_timeout: 5m\n", 1)
	next = "idp: {tls: true}\n" + strings.Replace(next, "  bob: {email: bob@example.com, groups: [eng]}\n", "", 1)
	w.write(next)
	w.w.Poll()
	w.notice(`^config changes that need a restart of authdev to apply: idp.tls, proxy.hostnames, proxy.idle_timeout$`)
	w.notice(`^persona bob is gone from the config`)
	w.notice(`^config reloaded: personas -bob; idp.tls; proxy.hostnames; proxy.idle_timeout$`)
	if p, _ := w.s.Active(); p != "" {
		t.Errorf("the active persona is still %q after it was removed", p)
	}
	if _, err := w.s.Token("bob", "dev"); err == nil {
		t.Error("the IdP still knows a removed persona")
	}
}

func TestReloadRefusesAConfigThatLeavesNoUpstream(t *testing.T) {
	t.Parallel()
	w := startWatched(t)
	cfg, err := config.Parse([]byte(strings.Replace(testkit.RolesYAML, "  upstreams:\n    - {name: api, targets: [\"BACKEND\"]}\n", "", 1)),
		"authdev.yaml", ".", config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.s.Reload(cfg); err == nil || !strings.Contains(err.Error(), "demo backend is not running") {
		t.Fatalf("err %v", err)
	}
	if code, _ := w.as("bob", "/x"); code != http.StatusOK {
		t.Fatalf("a refused reload broke the stack: %d", code)
	}
}

func TestTheDemoBackendStaysAcrossAReload(t *testing.T) {
	t.Parallel()
	s := startUp(t, Options{})
	cfg := testkit.DemoConfig(t)
	cfg.Personas = cfg.Personas[:2]
	if err := s.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if ups := s.DevProxy().Upstreams(); len(ups) != 1 || ups[0].Name != DemoUpstreamName {
		t.Fatalf("upstreams after the reload: %+v", ups)
	}
	if ids := s.Config().PersonaIDs(); len(ids) != 2 {
		t.Errorf("personas after the reload: %v", ids)
	}
}

func TestMergeUpstreamsMapsAVserverOntoTheUpstreamOfTheSameName(t *testing.T) {
	t.Parallel()
	mon := &config.Monitor{Path: "/healthz"}
	yaml := []devproxy.Upstream{
		{Name: "orders", Prefix: "/orders", Targets: []string{"http://127.0.0.1:9001"}},
		{Name: "web", Prefix: "/", Targets: []string{"http://127.0.0.1:9002"}, LB: "leastconnection"},
	}
	ns := []config.Upstream{
		{Name: "orders", Prefix: "/", Targets: []string{"http://10.0.0.1:80"}, LB: "roundrobin", API: true, Monitor: mon},
		{Name: "web", Prefix: "/", Targets: []string{"http://10.0.0.2:80"}, LB: "roundrobin"},
		{Name: "legacy", Prefix: "/", Targets: []string{"http://10.0.0.3:80"}},
	}
	got := MergeUpstreams(yaml, ns)
	if len(got) != 3 {
		t.Fatalf("merged %+v", got)
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"the YAML's targets and prefix win", got[0].Prefix == "/orders" && got[0].Targets[0] == "http://127.0.0.1:9001"},
		{"the vserver fills the lb method, monitor and authn401", got[0].LB == "roundrobin" && got[0].Monitor != nil && got[0].Monitor.Path == "/healthz" && got[0].API},
		{"a lb method the YAML sets stays", got[1].LB == "leastconnection"},
		{"a vserver of no YAML upstream is an upstream of its own", got[2].Name == "legacy" && got[2].Targets[0] == "http://10.0.0.3:80"},
		{"the YAML list is not modified", yaml[0].LB == ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Errorf("merged %+v", got)
			}
		})
	}
}

func TestProxyAloneTakesTheRelyingPartyFromTheNSConfOAuthAction(t *testing.T) {
	t.Parallel()
	up := startUp(t, Options{})
	backend := whoBackend(t)
	dir := t.TempDir()
	nsconf := `enable ns feature AAA
add authentication OAuthAction mock_idp -metadataUrl "` + up.IdP().Issuer("dev") + `/.well-known/openid-configuration" -clientID ` + config.ProxyClientID + ` -clientSecret s3cret -encrypted -audience authdev -userNameField sub
set tm sessionParameter -defaultAuthorizationAction ALLOW
`
	yaml := "personas:\n  alice: {email: alice@example.com}\nenvironments:\n  dev: {}\nproxy:\n  tls: false\n  adc_config: ns.conf\n"
	testkit.WriteFiles(t, dir, map[string]string{"ns.conf": nsconf, "authdev.yaml": yaml})
	cfg, err := testkit.LoadFile(filepath.Join(dir, "authdev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := startProxy(t, Options{Config: cfg, Upstream: "api=" + backend}, nil)
	if _, env := s.Active(); env != "mock_idp" {
		t.Errorf("the environment is %q, want the OAuth action's name", env)
	}
	var warned bool
	for _, w := range s.Warnings() {
		warned = warned || strings.Contains(w, `OAuth action "mock_idp" (`) && strings.Contains(w, "ns.conf:2") && strings.Contains(w, "--client-secret")
	}
	if !warned {
		t.Errorf("no warning that the encrypted secret cannot be used, naming ns.conf:2: %q", s.Warnings())
	}
	tok, _ := up.Token("alice", "dev")
	var got map[string]string
	code := getJSON(t, http.DefaultClient, s.ProxyURL()+"/x", http.Header{"Authorization": {"Bearer " + tok}}, &got)
	var claims struct{ Sub string }
	if parts := strings.Split(tok, "."); len(parts) == 3 {
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		json.Unmarshal(payload, &claims)
	}
	if code != http.StatusOK || claims.Sub == "" || got["user"] != claims.Sub {
		t.Fatalf("bearer through the OAuth action's issuer: %d %v, want X-Remote-User from the sub claim %q (-userNameField sub)", code, got, claims.Sub)
	}

	// Flags win over the OAuth action: an audience the token lacks is refused.
	s2 := startProxy(t, Options{Config: cfg, Upstream: "api=" + backend}, &Issuer{Audience: "api://other"})
	if code := getJSON(t, http.DefaultClient, s2.ProxyURL()+"/x", http.Header{"Authorization": {"Bearer " + tok}}, nil); code != http.StatusUnauthorized {
		t.Fatalf("--audience did not override the OAuth action's: %d", code)
	}
}

func TestProxyAloneWithTheRealisticAAATMConfig(t *testing.T) {
	t.Parallel()
	cfg, err := testkit.LoadFile(filepath.Join("..", "..", "adc", "testdata", "aaatm", "authdev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Proxy(Options{Config: cfg, Store: state.NewMemory(), ProxyListen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.closeListeners()
	if _, env := s.Active(); env != "okta_oidc" {
		t.Errorf("environment %q, want the OAuth action okta_oidc", env)
	}
	ups := s.DevProxy().Upstreams()
	if len(ups) != 1 || ups[0].Name != "orders" || len(ups[0].Targets) != 2 || ups[0].Targets[0].URL != "http://127.0.0.1:8001" {
		t.Errorf("the lb vserver orders should be the upstream: %+v", ups)
	}
	s2, err := Proxy(Options{Config: cfg, Store: state.NewMemory(), ProxyListen: "127.0.0.1:0"}, &Issuer{URL: "https://idp.example.com"})
	if err != nil {
		t.Fatalf("--issuer alone should take the OAuth action's client ID: %v", err)
	}
	s2.closeListeners()
}
