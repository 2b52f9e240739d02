package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, yaml string, env map[string]string) (*Config, error) {
	t.Helper()
	return Parse([]byte(yaml), "authdev.yaml", "/cfg", Options{LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
}

const minimal = "personas:\n  alice: {}\n"

func TestTheDemoConfigLoadsWithItsPromises(t *testing.T) {
	cfg, err := Load("", Options{})
	if err != nil {
		t.Fatalf("demo config: %v", err)
	}
	if !cfg.IsDemo() {
		t.Error("the embedded demo does not say it is the demo")
	}
	if got := strings.Join(cfg.PersonaIDs(), ","); got != "alice,bob,carol,eve" {
		t.Errorf("personas = %s, want alice,bob,carol,eve in order", got)
	}
	if got := strings.Join(cfg.EnvironmentNames(), ","); got != "dev,staging,prod" {
		t.Errorf("environments = %s", got)
	}
	roles := func(persona, env string) []string {
		id, _ := cfg.IdentityIn(persona, env)
		e, _ := cfg.Environment(env)
		return e.RolesFor(id.Groups)
	}
	for env, want := range map[string]bool{"dev": true, "staging": false, "prod": false} {
		isAdmin := strings.Contains(strings.Join(roles("bob", env), ","), "admin")
		if isAdmin != want {
			t.Errorf("bob admin in %s = %v, want %v (bob is admin in dev only)", env, isAdmin, want)
		}
	}
	for _, env := range cfg.EnvironmentNames() {
		if r := roles("alice", env); len(r) == 0 || r[0] != "admin" {
			t.Errorf("alice in %s has roles %v, want admin", env, r)
		}
	}
	if len(roles("eve", "prod")) != 0 {
		t.Errorf("eve has roles in prod: %v", roles("eve", "prod"))
	}
	if len(cfg.Checks) == 0 || len(cfg.Proxy.Policies) < 2 {
		t.Error("the demo needs policies and checks")
	}
}

func TestEveryProblemIsReportedWithItsPosition(t *testing.T) {
	_, err := parse(t, `idp:
  listen: nowhere
  flavour: okta
proxy:
  upstreams:
    - name: api
      upstram: x
      targets: [ftp://x]
      lb: roundrobbin
  tls: "yes"
personas:
  alice: {groups: admins}
environments:
  dev: {flavor: oktaa}
checks:
  - {as: alicee, request: GET /, expect: alow}
`, nil)
	errs, ok := err.(Errors)
	if !ok {
		t.Fatalf("got %T %v, want config.Errors", err, err)
	}
	want := []string{
		`authdev.yaml:2:11: idp.listen "nowhere" is not host:port`,
		`authdev.yaml:3:3: unknown key "flavour" (did you mean "flavor"?)`,
		`authdev.yaml:7:7: unknown key "upstram"`,
		`authdev.yaml:6:7: upstream "api" target "ftp://x" is not an absolute http(s) URL`,
		`authdev.yaml:9:11: upstream "api" lb "roundrobbin" is not one of roundrobin, leastconnection (did you mean "roundrobin"?)`,
		`authdev.yaml:10:8: expected true or false, found a string "yes"`,
		`authdev.yaml:12:19: expected a list, found a string`,
		`authdev.yaml:14:17: environment "dev" flavor "oktaa" is not one of`,
		`authdev.yaml:16:10: check "alicee GET /": unknown persona "alicee" (did you mean "alice"?)`,
		`authdev.yaml:16:42: invalid expectation "alow"`,
	}
	text := errs.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing problem %q in:\n%s", w, text)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(errs), len(want), text)
	}
}

func TestYAMLSyntaxErrorsNameTheLine(t *testing.T) {
	_, err := parse(t, "personas:\n  alice: {\n", nil)
	if err == nil || !strings.HasPrefix(err.Error(), "authdev.yaml:") || !strings.Contains(err.Error(), "YAML syntax") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultsFollowTheDesign(t *testing.T) {
	cfg, err := parse(t, minimal, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"idp.listen":     {cfg.IDP.Listen, "127.0.0.1:9400"},
		"proxy.listen":   {cfg.Proxy.Listen, "127.0.0.1:8443"},
		"environment":    {cfg.DefaultEnvironment(), "dev"},
		"audience":       {cfg.Environments[0].Audience, "authdev"},
		"alg":            {cfg.Environments[0].Alg, "RS256"},
		"email":          {cfg.Personas[0].Email, "alice@example.com"},
		"default authz":  {cfg.Proxy.DefaultAuthorization, "ALLOW"},
		"first header":   {cfg.Proxy.Headers[0].Name, "X-Remote-User"},
		"session period": {cfg.Proxy.SessionTimeout.String(), "30m0s"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if !cfg.Proxy.TLSEnabled() {
		t.Error("TLS should be on by default")
	}
}

func TestDurationsAndEnvironmentExpansion(t *testing.T) {
	cfg, err := parse(t, `idp:
  token_ttl: 90s
  clients:
    - {id: ci, secret: "${CI_SECRET}", grants: [client_credentials]}
    - {id: spa, secret: "${MISSING:-fallback}"}
`+minimal, map[string]string{"CI_SECRET": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IDP.TokenTTL.D() != 90*time.Second {
		t.Errorf("token_ttl = %v", cfg.IDP.TokenTTL)
	}
	if cfg.IDP.Clients[0].Secret != "s3cret" || cfg.IDP.Clients[1].Secret != "fallback" {
		t.Errorf("secrets = %q, %q", cfg.IDP.Clients[0].Secret, cfg.IDP.Clients[1].Secret)
	}
	_, err = parse(t, "idp:\n  clients:\n    - {id: ci, secret: \"${NOPE}\"}\n"+minimal, nil)
	if err == nil || !strings.Contains(err.Error(), "authdev.yaml:3:24: environment variable NOPE is not set") {
		t.Errorf("unset variable: err = %v", err)
	}
	_, err = parse(t, "idp:\n  token_ttl: 5 minutes\n"+minimal, nil)
	if err == nil || !strings.Contains(err.Error(), `authdev.yaml:2:14: invalid duration "5 minutes"`) {
		t.Errorf("bad duration: err = %v", err)
	}
}

func TestPathsAreRelativeToTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "authdev.yaml")
	os.WriteFile(p, []byte(minimal+"proxy:\n  adc_config: ns.conf\n"), 0o644)
	cfg, err := Load(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Resolve(cfg.Proxy.ADCConfig); got != filepath.Join(dir, "ns.conf") {
		t.Errorf("Resolve = %s", got)
	}
}

func TestFindPrefersFlagThenEnvThenWorkingDirectory(t *testing.T) {
	env := map[string]string{EnvVar: "from-env.yaml"}
	getenv := func(k string) string { return env[k] }
	if got := Find("flag.yaml", getenv); got != "flag.yaml" {
		t.Errorf("with flag: %s", got)
	}
	if got := Find("", getenv); got != "from-env.yaml" {
		t.Errorf("with env: %s", got)
	}
	t.Chdir(t.TempDir())
	if got := Find("", func(string) string { return "" }); got != "" {
		t.Errorf("with nothing: %q, want the demo", got)
	}
	os.WriteFile(FileName, []byte(minimal), 0o644)
	if got := Find("", func(string) string { return "" }); got != FileName {
		t.Errorf("with ./authdev.yaml: %q", got)
	}
}

func TestPersonaOverridesApplyPerEnvironment(t *testing.T) {
	cfg, err := parse(t, `personas:
  alice:
    groups: [eng-admins]
    claims: {department: platform, level: 3}
    envs:
      prod: {groups: [okta-prod-admins], claims: {level: 4}}
environments:
  dev: {roles: {eng-admins: [admin]}}
  prod: {roles: {okta-prod-admins: [admin, auditor]}}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := cfg.IdentityIn("alice", "dev")
	prod, _ := cfg.IdentityIn("alice", "prod")
	if dev.Groups[0] != "eng-admins" || prod.Groups[0] != "okta-prod-admins" {
		t.Errorf("groups dev=%v prod=%v", dev.Groups, prod.Groups)
	}
	if prod.Claims["department"] != "platform" || prod.Claims["level"] != 4 {
		t.Errorf("prod claims = %v, want department kept and level overridden", prod.Claims)
	}
	if dev.Claims["level"] != 3 {
		t.Errorf("the prod override leaked into dev: %v", dev.Claims)
	}
	env, _ := cfg.Environment("prod")
	if got := strings.Join(env.RolesFor(prod.Groups), ","); got != "admin,auditor" {
		t.Errorf("prod roles = %s", got)
	}
	if id, ok := cfg.PersonaByEmail("prod", "alice@example.com"); !ok || id.Persona != "alice" {
		t.Errorf("PersonaByEmail = %v, %v", id, ok)
	}
}

func TestExpectationsPerEnvironment(t *testing.T) {
	cfg, err := parse(t, minimal+`environments: {dev: {}, prod: {}}
checks:
  - {as: alice, request: GET /a, expect: 403}
  - {as: alice, request: GET /b, expect: {dev: allow, prod: DENY}}
  - {as: alice, request: GET /c, expect: {qa: allow}}
`, nil)
	if err == nil || !strings.Contains(err.Error(), `authdev.yaml:7:5: check "alice GET /c" names unknown environment "qa"`) {
		t.Fatalf("err = %v", err)
	}
	cfg, err = parse(t, minimal+`environments: {dev: {}, prod: {}}
checks:
  - {as: alice, request: GET /a, expect: 403}
  - {as: alice, request: GET /b, expect: {dev: allow, prod: DENY}}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Checks[0].Expect.For("prod") != "403" || cfg.Checks[1].Expect.For("prod") != "deny" || cfg.Checks[1].Expect.For("dev") != "allow" {
		t.Errorf("expectations = %+v", cfg.Checks)
	}
}

func TestDuplicateKeysAndNamesAreRefused(t *testing.T) {
	_, err := parse(t, `personas:
  alice: {}
  alice: {}
proxy:
  upstreams:
    - {name: api, targets: [http://a]}
    - {name: api, targets: [http://b]}
  policies:
    - {name: p, rule: "true", action: deny}
    - {name: p, rule: "true", action: ALLOW}
    - {name: q, rule: "true", action: PERMIT}
idp:
  clients: [{id: authdev-proxy}]
`, nil)
	for _, w := range []string{`3:3: "alice" appears twice`, `upstream "api" is listed twice`, `policy "p" is listed twice`,
		`policy "q" action "PERMIT" is not one of ALLOW, DENY`, `client id "authdev-proxy" is built in`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in %v", w, err)
		}
	}
}

func TestExpressionsKeepThePositionOfTheirFirstCharacter(t *testing.T) {
	cfg, err := parse(t, minimal+`proxy:
  policies:
    - name: p
      rule: "HTTP.REQ.URL.PATH.EQ(\"/\")"
      action: ALLOW
  headers:
    X-Who: AAA.USER.NAME
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Proxy.Policies[0].Rule.Pos; p.Line != 6 || p.Col != 14 {
		t.Errorf("rule position = %d:%d, want 6:14 (inside the quotes)", p.Line, p.Col)
	}
	if h := cfg.Proxy.Headers[0]; h.Name != "X-Who" || h.Expr.Pos.Line != 9 || h.Expr.Pos.Col != 12 {
		t.Errorf("header = %+v", h)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add(DemoYAML())
	f.Add([]byte("personas: {a: {envs: {x: {}}}}\nchecks: [{as: a, expect: {x: 1}}]"))
	f.Add([]byte("proxy: {headers: {X: &a 1, Y: *a}}"))
	f.Add([]byte(`personas: {"": {}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml", ".", Options{LookupEnv: func(string) (string, bool) { return "", false }})
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse returned cfg=%v err=%v: exactly one must be set", cfg != nil, err)
		}
	})
}
