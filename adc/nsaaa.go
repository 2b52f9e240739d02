package adc

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authdev/authdev/config"
)

type authnVServer struct {
	name, proto, addr string
	policies          []string
	pos               config.Pos
}

// addAuthnPolicy is `add authentication Policy` and `add authentication
// loginSchemaPolicy`: NAME -rule RULE -action ACTION.
func (s *session) addAuthnPolicy(c *command) {
	if !s.aaaArgs(c, 1, "add authentication Policy NAME -rule RULE -action ACTION") {
		return
	}
	name := c.args[0].text
	rule, ro := c.optVal("rule")
	act, ao := c.optVal("action")
	if ro == nil || ao == nil || rule == "" || act == "" {
		s.failCmd(c, "expected -rule RULE -action ACTION")
		return
	}
	np := &nsPolicy{p: &policy{name: name, kind: kindAuthentication, rule: rule, action: act, pos: c.pos},
		src: s.tokExpr(c, ro.vals[0]), action: ao.vals[0], cmd: c}
	s.ns.authnPols[name] = np
	s.ns.policyOrder = append(s.ns.policyOrder, np)
	s.finish(c, "comment", "logaction")
}

// minutes reads option opt, a whole number of minutes no less than least;
// ok is false when it is absent or wrong (then reported).
func (s *session) minutes(c *command, opt string, least int) (d time.Duration, ok bool) {
	v, o := c.optVal(opt)
	if o == nil {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		s.failTok(c, o.tok, "-%s %q must be a number of minutes", o.tok.text[1:], v)
		return 0, false
	}
	return time.Duration(n) * time.Minute, true
}

func (s *session) sessionOptions(c *command, name string) *sessionAction {
	a := &sessionAction{name: name, pos: c.pos}
	if d, ok := s.minutes(c, "sesstimeout", 1); ok {
		a.timeout = d
	}
	if v, o := c.optVal("defaultauthorizationaction"); o != nil {
		switch strings.ToUpper(v) {
		case "ALLOW", "DENY":
			a.defaultAuthz = strings.ToUpper(v)
			a.defaultPos = config.Pos{File: c.pos.File, Line: c.pos.Line}
		default:
			s.failTok(c, o.tok, "-defaultAuthorizationAction %q: use ALLOW or DENY", v)
		}
	}
	s.finish(c, "sso", "ssocredential", "ssodomain", "httponlycookie", "persistentcookie", "persistentcookievalidity",
		"homepage", "kcdaccount", "comment", "encrypted", "encryptmethod")
	return a
}

func (s *session) addOAuth(c *command) {
	if !s.needArgs(c, 1, "add authentication OAuthAction NAME -clientID ID -clientSecret SECRET ...") {
		return
	}
	a := &OAuthAction{Name: c.args[0].text, UserNameField: "email", PKCE: true, GrantType: "CODE",
		TokenEndpointAuthMethod: "client_secret_post", SkewTime: 5 * time.Minute, Pos: c.pos}
	s.urlOpts(c, map[string]*string{"authorizationendpoint": &a.AuthorizationEndpoint, "tokenendpoint": &a.TokenEndpoint,
		"certendpoint": &a.CertEndpoint, "userinfourl": &a.UserInfoURL, "introspecturl": &a.IntrospectURL, "metadataurl": &a.MetadataURL})
	strOpts(c, map[string]*string{"clientid": &a.ClientID, "clientsecret": &a.ClientSecret, "issuer": &a.Issuer,
		"audience": &a.Audience, "usernamefield": &a.UserNameField})
	a.Encrypted = c.opt("encrypted") != nil
	c.opt("encryptmethod")
	if v, o := c.optVal("attributes"); o != nil {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				a.Attributes = append(a.Attributes, f)
			}
		}
		if len(a.Attributes) > 16 {
			s.failTok(c, o.tok, "-Attributes lists %d names; the ADC keeps at most 16", len(a.Attributes))
		}
	}
	if d, ok := s.minutes(c, "skewtime", 0); ok {
		a.SkewTime = d
	}
	if v, o := c.optVal("granttype"); o != nil {
		a.GrantType = strings.ToUpper(v)
		if a.GrantType != "CODE" && a.GrantType != "PASSWORD" {
			s.failTok(c, o.tok, "-grantType %q: use CODE or PASSWORD", v)
		}
	}
	if v, o := c.optVal("pkce"); o != nil {
		switch strings.ToUpper(v) {
		case "ENABLED":
		case "DISABLED":
			a.PKCE = false
		default:
			s.failTok(c, o.tok, "-PKCE %q: use ENABLED or DISABLED", v)
		}
	}
	if v, o := c.optVal("tokenendpointauthmethod"); o != nil {
		switch strings.ToLower(v) {
		case "client_secret_post", "client_secret_basic", "client_secret_jwt", "private_key_jwt":
			a.TokenEndpointAuthMethod = strings.ToLower(v)
		default:
			s.failTok(c, o.tok, "-tokenEndpointAuthMethod %q: use client_secret_post, client_secret_basic, client_secret_jwt or private_key_jwt", v)
		}
	}
	if o := c.opt("allowedalgorithms"); o != nil {
		for _, v := range o.vals {
			a.AllowedAlgorithms = append(a.AllowedAlgorithms, strings.ToUpper(v.text))
		}
	}
	if v, o := c.optVal("oauthtype"); o != nil && !strings.EqualFold(v, "GENERIC") {
		s.warn(c.pos, c.verbText(), EffectNone, fmt.Sprintf("OAuth action %q: -OAuthType %s is not emulated: treated as GENERIC", a.Name, v))
	}
	if a.ClientID == "" {
		s.failCmd(c, "OAuth action %q needs -clientID", a.Name)
	}
	if a.MetadataURL == "" && (a.AuthorizationEndpoint == "" || a.TokenEndpoint == "") {
		s.failCmd(c, "OAuth action %q needs -authorizationEndpoint and -tokenEndpoint, or -metadataUrl", a.Name)
	}
	s.ns.oauth = append(s.ns.oauth, a)
	s.ns.actionOrder = append(s.ns.actionOrder, actionRef{"oauth", a.Name})
	s.finish(c, "kek", "suffix", "authentication", "refreshinterval", "defaultauthenticationgroup", "graphendpoint", "resourceuri",
		"tenantid", "idtokendecryptendpoint", "requestattribute", "intunedeviceidexpression", "oauthmiscflags", "comment")
}

// urlOpts copies options that must be absolute http(s) URLs, reporting
// those that are not, in the order they were written.
func (s *session) urlOpts(c *command, into map[string]*string) {
	for _, o := range c.opts {
		dst, ok := into[o.name]
		if !ok || len(o.vals) == 0 {
			continue
		}
		o.used = true
		v := o.vals[0].text
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			s.failTok(c, o.tok, "-%s %q is not an absolute http(s) URL", o.tok.text[1:], v)
			continue
		}
		*dst = v
	}
}

// chooseOAuth picks the OAuth action in use: the one an authentication
// policy bound to an authentication vserver names, else the only one. Its
// -Attributes give AAA.USER.ATTRIBUTE(n) its meaning; without one, those
// of the first samlAction (-attribute1..16, then -Attributes) do.
func (s *session) chooseOAuth() {
	n := s.ns
	if len(n.oauth) == 0 {
		if saml := n.backends.SAML; len(saml) > 0 {
			s.env.oauthAttrs = saml[0].Attributes
			for _, a := range saml[1:] {
				if len(a.Attributes) > 0 && !slices.Equal(a.Attributes, saml[0].Attributes) {
					s.warn(a.Pos, "add authentication samlAction", EffectDecision, fmt.Sprintf("samlAction %q: its -attribute1..16 and -Attributes are not emulated: AAA.USER.ATTRIBUTE(n) numbers those of samlAction %q, the first, after every SAML login", a.Name, saml[0].Name))
				}
			}
		}
		return
	}
	chosen := n.oauth[0]
	found := false
	for _, b := range n.binds {
		if b.scope != "authn" || found {
			continue
		}
		if p, ok := n.authnPols[b.policy.text]; ok {
			for _, a := range n.oauth {
				if a.Name == p.p.action {
					chosen, found = a, true
				}
			}
		}
	}
	if !found && len(n.oauth) > 1 {
		s.warn(chosen.Pos, "add authentication OAuthAction", EffectNone, fmt.Sprintf("%d OAuth actions and none bound through an authentication policy: using %q", len(n.oauth), chosen.Name))
	}
	s.e.settings.OAuth = chosen
	s.env.oauthAttrs = chosen.Attributes
}

func (s *session) addSessionAction(c *command) {
	n := s.ns
	n.aaaTM = true
	if !s.needArgs(c, 1, "add tm sessionAction NAME -sessTimeout MINUTES -defaultAuthorizationAction ALLOW|DENY") {
		return
	}
	name := c.args[0].text
	if _, dup := n.sessActs[name]; dup {
		s.failTok(c, c.args[0], "session action %q is defined twice", name)
		return
	}
	n.sessActs[name] = s.sessionOptions(c, name)
	n.actionOrder = append(n.actionOrder, actionRef{KindSession, name})
}

func (s *session) setSessionParameter(c *command) {
	s.ns.aaaTM = true
	s.ns.sessParam = s.sessionOptions(c, "tm sessionParameter")
}

func (s *session) addSessionPolicy(c *command) {
	s.ns.aaaTM = true
	s.addPolicy(c, KindSession, s.ns.sessPols, "add tm sessionPolicy NAME RULE ACTION")
}

// builtinSessionPolicies are the session policies every appliance has:
// SETTMSESSPARAMS_ADV_POL applies `set tm sessionParameter`, which authdev
// applies anyway.
func builtinSessionPolicies() map[string]*nsPolicy {
	p := &nsPolicy{p: &policy{name: "SETTMSESSPARAMS_ADV_POL", kind: KindSession, rule: "true"}, builtin: true}
	return map[string]*nsPolicy{p.p.name: p}
}

func (s *session) bindTMGlobal(c *command) {
	s.ns.aaaTM = true
	name, _ := c.optVal("policyname")
	if p, ok := s.ns.sessPols[name]; ok && p.builtin {
		c.useAll()
		return // the session parameters it applies are read from `set tm sessionParameter`
	}
	s.bindPolicy(c, "tm global", "", "tm", []string{KindSession})
}

// addAAAEntity is `add aaa user|group NAME`: authdev's personas are the
// users, and their IdP groups the groups.
func (s *session) addAAAEntity(c *command) {
	s.aaaArgs(c, 1, c.verbText()+" NAME")
	s.finish(c, "weight", "password", "loggedin")
}

func (s *session) bindAAAEntity(c *command) {
	if !s.aaaArgs(c, 1, c.verbText()+" NAME -policy POLICY -priority N") {
		return
	}
	if c.opt("policy") == nil && c.opt("policyname") == nil {
		s.warn(c.pos, c.verbText(), EffectNone, fmt.Sprintf("%s: only policy bindings are emulated (the persona's groups come from the IdP)", c.verbText()))
		c.useAll()
		return
	}
	scope := strings.TrimPrefix(c.key, "bind aaa ")
	s.bindPolicy(c, "aaa "+scope+" "+c.args[0].text, c.args[0].text, scope, []string{KindAuthorization, KindSession})
}

func (s *session) addAuthnVServer(c *command) {
	if s.aaaArgs(c, 2, "add authentication vserver NAME SSL [IP PORT]") {
		s.ns.authnVS = append(s.ns.authnVS, &authnVServer{name: c.args[0].text, proto: strings.ToUpper(c.args[1].text),
			addr: addrOf(c.args[2:]), pos: c.pos})
	}
	s.finish(c, "authenticationdomain", "td", "comment", "appflowlog", "maxloginattempts", "failedlogintimeout", "certkeynames", "samesite")
}

// addAuthnProfile is `add authentication authnProfile NAME -authnVsName
// V`: lb vservers name it with -authnProfile.
func (s *session) addAuthnProfile(c *command) {
	if !s.aaaArgs(c, 1, "add authentication authnProfile NAME -authnVsName AAA_VSERVER") {
		return
	}
	vs, o := c.optVal("authnvsname")
	if o == nil || vs == "" {
		s.failCmd(c, "expected -authnVsName AAA_VSERVER: the authentication vserver logins go to")
		return
	}
	s.ns.authnProfiles[c.args[0].text] = vs
	s.finish(c, "authenticationhost", "authenticationdomain", "authenticationlevel", "comment")
}

// bindAuthnVServer binds an authentication policy, or a portal theme, a
// certificate or a login schema, which only shape the login page (authdev
// shows its persona picker instead).
func (s *session) bindAuthnVServer(c *command) {
	if !s.aaaArgs(c, 1, "bind authentication vserver NAME -policy POLICY -priority N") {
		return
	}
	if c.opt("policy") == nil && c.opt("policyname") == nil {
		c.useAll()
		s.warn(c.pos, c.verbText(), EffectNone, fmt.Sprintf("%s: the login page is authdev's persona picker", c.verbText()))
		return
	}
	s.bindPolicy(c, "authentication vserver "+c.args[0].text, c.args[0].text, "authn", []string{kindAuthentication, KindSession})
}
