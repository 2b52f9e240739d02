package config

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/authdev/authdev/identity"
)

// Values the schema allows.
var (
	Algs      = []string{"RS256", "ES256"}
	LBMethods = []string{"roundrobin", "leastconnection"}
	Actions   = []string{"ALLOW", "DENY"}
	CheckVias = []string{"session", "bearer", "saml"}
	// Logins are the ways the proxy logs browsers in (proxy.login).
	Logins = []string{LoginOIDC, LoginSAML}
	// SAMLNameIDFormats are the nameid_format values of a service provider.
	SAMLNameIDFormats = []string{"email", "persistent", "transient", "unspecified"}
	// CheckDrills are the failure drills a check may run under.
	CheckDrills = []string{DrillExpiredSession, DrillRotatedKeys, DrillIdPDown}
	// CoverageModes are the values of checks_coverage.
	CoverageModes = []string{CoverageReport, CoverageRequired}
	// ReservedClientIDs are the IdP's built-in clients.
	ReservedClientIDs = []string{ProxyClientID, CLIClientID}
)

// Failure drills a check may name: the sessions expire after its login,
// the IdP's keys rotate, or the IdP is unreachable while it runs.
const (
	DrillExpiredSession = "expired-session"
	DrillRotatedKeys    = "rotated-keys"
	DrillIdPDown        = "idp-down"
)

// checks_coverage: report uncovered routes, or fail on them.
const (
	CoverageReport   = "report"
	CoverageRequired = "required"
)

// The built-in clients of the IdP: they need no configuration.
const (
	ProxyClientID = "authdev-proxy"
	CLIClientID   = "authdev-cli"
)

// Browser logins of the proxy.
const (
	LoginOIDC = "oidc"
	LoginSAML = "saml"
)

// The proxy as the IdP's built-in SAML service provider: its entity id, its
// assertion consumer service path and its logout path, where the IdP's
// LogoutResponse lands (the ADC's, on any loopback name or
// proxy.public_url).
const (
	ProxySAMLEntityID = "urn:authdev:proxy"
	SAMLACSPath       = "/cgi/samlauth"
	ProxyLogoutPath   = "/cgi/tmlogout"
)

func (c *Config) applyDefaults() {
	i := &c.IDP
	i.Listen = cmp.Or(i.Listen, "127.0.0.1:9400")
	i.Flavor = cmp.Or(i.Flavor, FlavorGeneric)
	i.Alg = cmp.Or(i.Alg, "RS256")
	if i.TokenTTL == 0 {
		i.TokenTTL = Duration(5 * time.Minute)
	}
	if len(c.Environments) == 0 {
		c.Environments = Environments{{Name: "dev"}}
	}
	for k := range c.Environments {
		e := &c.Environments[k]
		e.Flavor = cmp.Or(e.Flavor, i.Flavor)
		e.Alg = cmp.Or(e.Alg, i.Alg)
		e.Audience = cmp.Or(e.Audience, "authdev")
	}
	for k := range c.Personas {
		p := &c.Personas[k]
		if p.Name == "" && p.ID != "" {
			p.Name = strings.ToUpper(p.ID[:1]) + p.ID[1:]
		}
		p.Email = cmp.Or(p.Email, p.ID+"@example.com")
	}
	px := &c.Proxy
	px.Listen = cmp.Or(px.Listen, "127.0.0.1:8443")
	if px.SessionTimeout == 0 {
		px.SessionTimeout = Duration(30 * time.Minute)
	}
	if px.IdleTimeout == 0 {
		px.IdleTimeout = Duration(30 * time.Minute)
	}
	px.DefaultAuthorization = strings.ToUpper(cmp.Or(px.DefaultAuthorization, "ALLOW"))
	px.Login = strings.ToLower(cmp.Or(px.Login, LoginOIDC))
	for k := range c.Environments {
		e := &c.Environments[k]
		e.Login = strings.ToLower(cmp.Or(e.Login, px.Login))
		if !IsHTTPURL(e.SAMLMetadata) {
			e.SAMLMetadata = c.Resolve(e.SAMLMetadata)
		}
	}
	c.IDP.SAML.applyDefaults(c)
	c.ChecksCoverage = cmp.Or(c.ChecksCoverage, CoverageReport)
	if len(px.Headers) == 0 {
		px.Headers = Headers{
			{Name: identity.HeaderUser, Expr: Expr{Text: "AAA.USER.NAME"}},
			{Name: identity.HeaderGroups, Expr: Expr{Text: "AAA.USER.GROUPS"}},
			{Name: identity.HeaderRoles, Expr: Expr{Text: `AAA.USER.ATTRIBUTE("roles")`}},
		}
	}
	for k := range px.Upstreams {
		u := &px.Upstreams[k]
		u.Prefix = cmp.Or(u.Prefix, "/")
		u.LB = strings.ToLower(cmp.Or(u.LB, "leastconnection"))
		// The upstream's timeout and monitor defaults are the proxy's own,
		// applied where they take effect (devproxy).
	}
	for k := range px.Policies {
		px.Policies[k].Action = strings.ToUpper(px.Policies[k].Action)
	}
	for k := range c.Checks {
		ch := &c.Checks[k]
		ch.Via = strings.ToLower(cmp.Or(ch.Via, "session"))
		if ch.Name == "" {
			ch.Name = ch.As + " " + ch.Request
		}
	}
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	methodRE = regexp.MustCompile(`^[A-Z]+$`)
)

// validate checks what the types cannot say, appending every problem.
func (c *Config) validate(errs *Errors) {
	v := &validator{c: c, errs: errs}
	v.idp()
	v.environments()
	v.personas()
	v.proxy()
	v.checks()
}

// validator carries a config and its problems through the steps of
// validate.
type validator struct {
	c    *Config
	errs *Errors
}

// at is p, or the file when p names no place.
func (v *validator) at(p Pos) Pos {
	if p.File == "" {
		return Pos{File: v.c.Source}
	}
	return p
}

// of is where the value at field was written, or the file.
func (v *validator) of(field any) Pos {
	if p, ok := v.c.keyPos[reflect.ValueOf(field).Pointer()]; ok {
		return p
	}
	return Pos{File: v.c.Source}
}

func (v *validator) oneOf(p Pos, what, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		v.errs.add(v.at(p), "%s %q is not one of %s%s", what, value, strings.Join(allowed, ", "), didYouMean(value, allowed))
	}
}

func (v *validator) listen(what string, addr *string) {
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		v.errs.add(v.of(addr), "%s %q is not host:port: write it like 127.0.0.1:9400", what, *addr)
	}
}

func (v *validator) idp() {
	i := &v.c.IDP
	v.listen("idp.listen", &i.Listen)
	v.oneOf(v.of(&i.Flavor), "idp.flavor", string(i.Flavor), names(Flavors))
	v.oneOf(v.of(&i.Alg), "idp.alg", i.Alg, Algs)
	v.oneOf(v.of(&v.c.ChecksCoverage), "checks_coverage", v.c.ChecksCoverage, CoverageModes)
	if i.PublicURL != "" {
		checkURL(v.errs, v.of(&i.PublicURL), "idp.public_url", i.PublicURL)
		if i.TLS && strings.HasPrefix(i.PublicURL, "http:") {
			v.errs.add(v.of(&i.PublicURL), "idp.public_url %q is http but idp.tls serves https: write https://, or turn idp.tls off", i.PublicURL)
		}
	}
	clientIDs := map[string]bool{}
	for _, cl := range i.Clients {
		switch {
		case cl.ID == "":
			v.errs.add(v.at(cl.Pos), "client without an id: add `id: my-app`")
		case slices.Contains(ReservedClientIDs, cl.ID):
			v.errs.add(v.at(cl.Pos), "client id %q is built in: choose another id", cl.ID)
		case clientIDs[cl.ID]:
			v.errs.add(v.at(cl.Pos), "client id %q is listed twice", cl.ID)
		}
		clientIDs[cl.ID] = true
		for _, u := range append(slices.Clone(cl.RedirectURIs), cl.PostLogoutRedirectURIs...) {
			checkURL(v.errs, v.at(cl.Pos), fmt.Sprintf("client %q redirect URI", cl.ID), u)
		}
		for _, g := range cl.Grants {
			v.oneOf(cl.Pos, fmt.Sprintf("client %q grant", cl.ID), string(g), names(GrantTypes))
		}
	}
	i.SAML.validate(v.errs, v.at, v.oneOf)
}

func (v *validator) environments() {
	for i := range v.c.Environments {
		e := &v.c.Environments[i]
		if !nameRE.MatchString(e.Name) {
			v.errs.add(v.at(e.Pos), "environment name %q must be letters, digits, '.', '_' or '-' (it becomes the issuer path)", e.Name)
		}
		v.oneOf(v.of(&e.Flavor), fmt.Sprintf("environment %q flavor", e.Name), string(e.Flavor), names(Flavors))
		validateFlavorSettings(v.errs, v.at(e.Pos), e)
		v.oneOf(v.of(&e.Alg), fmt.Sprintf("environment %q alg", e.Name), e.Alg, Algs)
		v.oneOf(v.of(&e.Login), fmt.Sprintf("environment %q login", e.Name), e.Login, Logins)
	}
	v.c.IDP.SAML.validate(v.errs, v.at, v.oneOf)
}

// unknownEnv reports env when no environment has that name.
func (v *validator) unknownEnv(p Pos, format string, args ...any) func(env string) {
	names := v.c.EnvironmentNames()
	return func(env string) {
		if !slices.Contains(names, env) {
			v.errs.add(v.at(p), format+" %q%s", append(slices.Clone(args), env, didYouMean(env, names))...)
		}
	}
}

func (v *validator) personas() {
	if len(v.c.Personas) == 0 {
		v.errs.add(Pos{File: v.c.Source}, "no personas: add at least one under `personas:`, e.g. `alice: {email: alice@example.com, groups: [admins]}`")
	}
	for _, p := range v.c.Personas {
		if !nameRE.MatchString(p.ID) {
			v.errs.add(v.at(p.Pos), "persona id %q must be letters, digits, '.', '_' or '-'", p.ID)
		}
		check := v.unknownEnv(p.Pos, "persona %q overrides unknown environment", p.ID)
		for _, env := range sortedKeys(p.Envs) {
			check(env)
		}
	}
}

func (v *validator) proxy() {
	px := &v.c.Proxy
	v.listen("proxy.listen", &px.Listen)
	if px.PublicURL != "" {
		checkURL(v.errs, v.of(&px.PublicURL), "proxy.public_url", px.PublicURL)
	}
	v.oneOf(v.of(&px.DefaultAuthorization), "proxy.default_authorization", px.DefaultAuthorization, Actions)
	v.oneOf(v.of(&px.Login), "proxy.login", px.Login, Logins)
	v.upstreams()
	for _, h := range px.Headers {
		if !headerNameRE.MatchString(h.Name) {
			v.errs.add(v.at(h.Pos), "header name %q is not a valid HTTP header name", h.Name)
		}
		if strings.TrimSpace(h.Expr.Text) == "" {
			v.errs.add(v.at(h.Pos), "header %q has no expression: write e.g. AAA.USER.NAME", h.Name)
		}
	}
	v.policies()
}

func (v *validator) upstreams() {
	seen := map[string]bool{}
	for i := range v.c.Proxy.Upstreams {
		u := &v.c.Proxy.Upstreams[i]
		v.uniqueName(seen, u.Pos, "upstream", u.Name, "api")
		if !strings.HasPrefix(u.Prefix, "/") {
			v.errs.add(v.at(u.Pos), "upstream %q prefix %q must start with /", u.Name, u.Prefix)
		}
		if len(u.Targets) == 0 {
			v.errs.add(v.at(u.Pos), "upstream %q has no targets: add `targets: [http://127.0.0.1:8000]`", u.Name)
		}
		for _, t := range u.Targets {
			checkURL(v.errs, v.at(u.Pos), fmt.Sprintf("upstream %q target", u.Name), t)
		}
		v.oneOf(v.of(&u.LB), fmt.Sprintf("upstream %q lb", u.Name), u.LB, LBMethods)
		if m := u.Monitor; m != nil && m.Status != 0 && (m.Status < 100 || m.Status > 599) {
			v.errs.add(v.at(u.Pos), "upstream %q monitor status %d is not an HTTP status", u.Name, m.Status)
		}
	}
}

// uniqueName reports an item of a list (kind) without a name, or with the
// name of an earlier one; example is a name to suggest.
func (v *validator) uniqueName(seen map[string]bool, pos Pos, kind, name, example string) {
	if name == "" {
		v.errs.add(v.at(pos), "%s without a name: add `name: %s`", kind, example)
	} else if seen[name] {
		v.errs.add(v.at(pos), "%s %q is listed twice", kind, name)
	}
	seen[name] = true
}

func (v *validator) policies() {
	seen := map[string]bool{}
	for i := range v.c.Proxy.Policies {
		p := &v.c.Proxy.Policies[i]
		v.uniqueName(seen, p.Pos, "policy", p.Name, "admin-area")
		if strings.TrimSpace(p.Rule.Text) == "" {
			v.errs.add(v.at(p.Pos), "policy %q has no rule", p.Name)
		}
		v.oneOf(v.of(&p.Action), fmt.Sprintf("policy %q action", p.Name), p.Action, Actions)
	}
}

func (v *validator) checks() {
	for i := range v.c.Checks {
		ch := &v.c.Checks[i]
		if _, ok := v.c.Persona(ch.As); !ok {
			v.errs.add(v.of(&ch.As), "check %q: %v", ch.Name, v.c.UnknownPersona(ch.As))
		}
		if _, _, err := ParseRequest(ch.Request); err != nil {
			v.errs.add(v.of(&ch.Request), "check %q: %v", ch.Name, err)
		}
		if _, written := v.c.keyPos[reflect.ValueOf(&ch.Expect).Pointer()]; !written {
			v.errs.add(v.at(ch.Pos), "check %q has no expect: write `expect: allow`, `deny` or a status code", ch.Name)
		}
		check := v.unknownEnv(ch.Pos, "check %q names unknown environment", ch.Name)
		for _, env := range append(slices.Clone(ch.Envs), sortedKeys(ch.Expect.PerEnv)...) {
			check(env)
		}
		v.oneOf(v.of(&ch.Via), fmt.Sprintf("check %q via", ch.Name), ch.Via, CheckVias)
		if ch.Drill != "" {
			v.oneOf(v.of(&ch.Drill), fmt.Sprintf("check %q drill", ch.Name), ch.Drill, CheckDrills)
		}
		if ch.Drill == DrillExpiredSession && ch.Via == "bearer" {
			v.errs.add(v.of(&ch.Drill), "check %q: drill expired-session expires browser sessions, and the check goes via bearer: drop via: bearer, or use drill: rotated-keys", ch.Name)
		}
	}
}

var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func checkURL(errs *Errors, p Pos, what, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.add(p, "%s %q is not an absolute http(s) URL: write it like http://127.0.0.1:8000", what, raw)
	}
}

// ParseRequest splits a check's request, "GET /admin/users", into method
// and path.
func ParseRequest(s string) (method, path string, err error) {
	f := strings.Fields(s)
	if len(f) != 2 || !methodRE.MatchString(f[0]) || !strings.HasPrefix(f[1], "/") {
		return "", "", fmt.Errorf("request %q must be METHOD PATH, such as \"GET /admin/users\"", s)
	}
	return f[0], f[1], nil
}
