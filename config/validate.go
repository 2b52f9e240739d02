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
	// ReservedClientIDs are the IdP's built-in clients.
	ReservedClientIDs = []string{ProxyClientID, CLIClientID}
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

// The proxy as the IdP's built-in SAML service provider: its entity id, and
// its assertion consumer service path (the ADC's, on any loopback name or
// proxy.public_url).
const (
	ProxySAMLEntityID = "urn:authdev:proxy"
	SAMLACSPath       = "/cgi/samlauth"
)

func (c *Config) applyDefaults() {
	i := &c.IDP
	i.Listen = or(i.Listen, "127.0.0.1:9400")
	i.Flavor = cmp.Or(i.Flavor, FlavorGeneric)
	i.Alg = or(i.Alg, "RS256")
	if i.TokenTTL == 0 {
		i.TokenTTL = Duration(5 * time.Minute)
	}
	if len(c.Environments) == 0 {
		c.Environments = Environments{{Name: "dev"}}
	}
	for k := range c.Environments {
		e := &c.Environments[k]
		e.Flavor = cmp.Or(e.Flavor, i.Flavor)
		e.Alg = or(e.Alg, i.Alg)
		e.Audience = or(e.Audience, "authdev")
	}
	for k := range c.Personas {
		p := &c.Personas[k]
		if p.Name == "" && p.ID != "" {
			p.Name = strings.ToUpper(p.ID[:1]) + p.ID[1:]
		}
		p.Email = or(p.Email, p.ID+"@example.com")
	}
	px := &c.Proxy
	px.Listen = or(px.Listen, "127.0.0.1:8443")
	if px.SessionTimeout == 0 {
		px.SessionTimeout = Duration(30 * time.Minute)
	}
	if px.IdleTimeout == 0 {
		px.IdleTimeout = Duration(30 * time.Minute)
	}
	px.DefaultAuthorization = strings.ToUpper(or(px.DefaultAuthorization, "ALLOW"))
	px.Login = strings.ToLower(or(px.Login, LoginOIDC))
	for k := range c.Environments {
		e := &c.Environments[k]
		e.Login = strings.ToLower(or(e.Login, px.Login))
		if !IsHTTPURL(e.SAMLMetadata) {
			e.SAMLMetadata = c.Resolve(e.SAMLMetadata)
		}
	}
	c.IDP.SAML.applyDefaults(c)
	if len(px.Headers) == 0 {
		px.Headers = Headers{
			{Name: identity.HeaderUser, Expr: Expr{Text: "AAA.USER.NAME"}},
			{Name: identity.HeaderGroups, Expr: Expr{Text: "AAA.USER.GROUPS"}},
			{Name: identity.HeaderRoles, Expr: Expr{Text: `AAA.USER.ATTRIBUTE("roles")`}},
		}
	}
	for k := range px.Upstreams {
		u := &px.Upstreams[k]
		u.Prefix = or(u.Prefix, "/")
		u.LB = strings.ToLower(or(u.LB, "leastconnection"))
		// The upstream's timeout and monitor defaults are the proxy's own,
		// applied where they take effect (devproxy).
	}
	for k := range px.Policies {
		px.Policies[k].Action = strings.ToUpper(px.Policies[k].Action)
	}
	for k := range c.Checks {
		ch := &c.Checks[k]
		ch.Via = strings.ToLower(or(ch.Via, "session"))
		if ch.Name == "" {
			ch.Name = ch.As + " " + ch.Request
		}
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	methodRE = regexp.MustCompile(`^[A-Z]+$`)
)

// validate checks what the types cannot say, appending every problem.
func (c *Config) validate(errs *Errors) {
	file := Pos{File: c.Source}
	at := func(p Pos) Pos {
		if p.File == "" {
			return file
		}
		return p
	}
	oneOf := func(p Pos, what, v string, allowed []string) {
		if !slices.Contains(allowed, v) {
			errs.add(at(p), "%s %q is not one of %s%s", what, v, strings.Join(allowed, ", "), didYouMean(v, allowed))
		}
	}
	// of is where the value at field was written, or the file.
	of := func(field any) Pos {
		if p, ok := c.keyPos[reflect.ValueOf(field).Pointer()]; ok {
			return p
		}
		return file
	}
	checkListen := func(what string, addr *string) {
		if _, _, err := net.SplitHostPort(*addr); err != nil {
			errs.add(of(addr), "%s %q is not host:port: write it like 127.0.0.1:9400", what, *addr)
		}
	}

	checkListen("idp.listen", &c.IDP.Listen)
	oneOf(of(&c.IDP.Flavor), "idp.flavor", string(c.IDP.Flavor), names(Flavors))
	oneOf(of(&c.IDP.Alg), "idp.alg", c.IDP.Alg, Algs)
	if c.IDP.PublicURL != "" {
		checkURL(errs, of(&c.IDP.PublicURL), "idp.public_url", c.IDP.PublicURL)
	}
	clientIDs := map[string]bool{}
	for _, cl := range c.IDP.Clients {
		switch {
		case cl.ID == "":
			errs.add(at(cl.Pos), "client without an id: add `id: my-app`")
		case slices.Contains(ReservedClientIDs, cl.ID):
			errs.add(at(cl.Pos), "client id %q is built in: choose another id", cl.ID)
		case clientIDs[cl.ID]:
			errs.add(at(cl.Pos), "client id %q is listed twice", cl.ID)
		}
		clientIDs[cl.ID] = true
		for _, u := range append(slices.Clone(cl.RedirectURIs), cl.PostLogoutRedirectURIs...) {
			checkURL(errs, at(cl.Pos), fmt.Sprintf("client %q redirect URI", cl.ID), u)
		}
		for _, g := range cl.Grants {
			oneOf(cl.Pos, fmt.Sprintf("client %q grant", cl.ID), string(g), names(GrantTypes))
		}
	}

	envs := map[string]bool{}
	for i := range c.Environments {
		e := &c.Environments[i]
		envs[e.Name] = true
		if !nameRE.MatchString(e.Name) {
			errs.add(at(e.Pos), "environment name %q must be letters, digits, '.', '_' or '-' (it becomes the issuer path)", e.Name)
		}
		oneOf(of(&e.Flavor), fmt.Sprintf("environment %q flavor", e.Name), string(e.Flavor), names(Flavors))
		validateFlavorSettings(errs, at(e.Pos), e)
		oneOf(of(&e.Alg), fmt.Sprintf("environment %q alg", e.Name), e.Alg, Algs)
		oneOf(of(&e.Login), fmt.Sprintf("environment %q login", e.Name), e.Login, Logins)
	}
	c.IDP.SAML.validate(errs, at, oneOf)
	envNames := c.EnvironmentNames()

	if len(c.Personas) == 0 {
		errs.add(file, "no personas: add at least one under `personas:`, e.g. `alice: {email: alice@example.com, groups: [admins]}`")
	}
	for _, p := range c.Personas {
		if !nameRE.MatchString(p.ID) {
			errs.add(at(p.Pos), "persona id %q must be letters, digits, '.', '_' or '-'", p.ID)
		}
		for _, env := range sortedKeys(p.Envs) {
			if !envs[env] {
				errs.add(at(p.Pos), "persona %q overrides unknown environment %q%s", p.ID, env, didYouMean(env, envNames))
			}
		}
	}

	px := &c.Proxy
	checkListen("proxy.listen", &px.Listen)
	if px.PublicURL != "" {
		checkURL(errs, of(&px.PublicURL), "proxy.public_url", px.PublicURL)
	}
	oneOf(of(&px.DefaultAuthorization), "proxy.default_authorization", px.DefaultAuthorization, Actions)
	oneOf(of(&px.Login), "proxy.login", px.Login, Logins)
	upstreams := map[string]bool{}
	for i := range px.Upstreams {
		u := &px.Upstreams[i]
		if u.Name == "" {
			errs.add(at(u.Pos), "upstream without a name: add `name: api`")
		} else if upstreams[u.Name] {
			errs.add(at(u.Pos), "upstream %q is listed twice", u.Name)
		}
		upstreams[u.Name] = true
		if !strings.HasPrefix(u.Prefix, "/") {
			errs.add(at(u.Pos), "upstream %q prefix %q must start with /", u.Name, u.Prefix)
		}
		if len(u.Targets) == 0 {
			errs.add(at(u.Pos), "upstream %q has no targets: add `targets: [http://127.0.0.1:8000]`", u.Name)
		}
		for _, t := range u.Targets {
			checkURL(errs, at(u.Pos), fmt.Sprintf("upstream %q target", u.Name), t)
		}
		oneOf(of(&u.LB), fmt.Sprintf("upstream %q lb", u.Name), u.LB, LBMethods)
		if m := u.Monitor; m != nil && m.Status != 0 && (m.Status < 100 || m.Status > 599) {
			errs.add(at(u.Pos), "upstream %q monitor status %d is not an HTTP status", u.Name, m.Status)
		}
	}
	for _, h := range px.Headers {
		if !headerNameRE.MatchString(h.Name) {
			errs.add(at(h.Pos), "header name %q is not a valid HTTP header name", h.Name)
		}
		if strings.TrimSpace(h.Expr.Text) == "" {
			errs.add(at(h.Pos), "header %q has no expression: write e.g. AAA.USER.NAME", h.Name)
		}
	}
	policies := map[string]bool{}
	for i := range px.Policies {
		p := &px.Policies[i]
		if p.Name == "" {
			errs.add(at(p.Pos), "policy without a name: add `name: admin-area`")
		} else if policies[p.Name] {
			errs.add(at(p.Pos), "policy %q is listed twice", p.Name)
		}
		policies[p.Name] = true
		if strings.TrimSpace(p.Rule.Text) == "" {
			errs.add(at(p.Pos), "policy %q has no rule", p.Name)
		}
		oneOf(of(&p.Action), fmt.Sprintf("policy %q action", p.Name), p.Action, Actions)
	}

	personaIDs := c.PersonaIDs()
	for i := range c.Checks {
		ch := &c.Checks[i]
		if _, ok := c.Persona(ch.As); !ok {
			errs.add(of(&ch.As), "check %q: unknown persona %q%s", ch.Name, ch.As, didYouMean(ch.As, personaIDs))
		}
		if _, _, err := ParseRequest(ch.Request); err != nil {
			errs.add(of(&ch.Request), "check %q: %v", ch.Name, err)
		}
		if _, written := c.keyPos[reflect.ValueOf(&ch.Expect).Pointer()]; !written {
			errs.add(at(ch.Pos), "check %q has no expect: write `expect: allow`, `deny` or a status code", ch.Name)
		}
		for _, env := range append(slices.Clone(ch.Envs), sortedKeys(ch.Expect.PerEnv)...) {
			if !envs[env] {
				errs.add(at(ch.Pos), "check %q names unknown environment %q%s", ch.Name, env, didYouMean(env, envNames))
			}
		}
		oneOf(of(&ch.Via), fmt.Sprintf("check %q via", ch.Name), ch.Via, CheckVias)
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
