package adc

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/authdev/authdev/config"
)

// The authentication back-ends: parsed and kept as written, emulated by a
// login through authdev's IdP (see AuthnBackends).

// strOpts copies single-valued options into strings; an absent option keeps
// its default.
func strOpts(c *command, into map[string]*string) {
	for name, dst := range into {
		if v, o := c.optVal(name); o != nil {
			*dst = v
		}
	}
}

func (s *session) addLDAPAction(c *command) {
	if !s.aaaArgs(c, 1, "add authentication ldapAction NAME -serverIP IP -ldapBase BASE ...") {
		return
	}
	a := LDAPAction{Name: c.args[0].text, Port: "389", SecType: "PLAINTEXT", Pos: c.pos}
	strOpts(c, map[string]*string{"serverip": &a.ServerIP, "servername": &a.ServerName, "serverport": &a.Port,
		"sectype": &a.SecType, "ldapbase": &a.Base, "ldapbinddn": &a.BindDN, "ldaploginname": &a.LoginName,
		"searchfilter": &a.SearchFilter, "groupattrname": &a.GroupAttribute, "subattributename": &a.SubAttribute,
		"ssonameattribute": &a.SSONameAttribute})
	if s.needServer(c, "ldapAction", a.Name, a.ServerIP+a.ServerName) {
		s.ns.backends.LDAP = append(s.ns.backends.LDAP, a)
	}
}

// needServer checks that an LDAP or RADIUS action names its server; the
// other options are kept as written.
func (s *session) needServer(c *command, what, name, server string) bool {
	if server == "" {
		s.failCmd(c, "%s %q needs -serverIP or -serverName", what, name)
		return false
	}
	c.useAll()
	return true
}

func (s *session) addRADIUSAction(c *command) {
	if !s.aaaArgs(c, 1, "add authentication radiusAction NAME -serverIP IP -radKey KEY") {
		return
	}
	a := RADIUSAction{Name: c.args[0].text, Port: "1812", Pos: c.pos}
	strOpts(c, map[string]*string{"serverip": &a.ServerIP, "servername": &a.ServerName, "serverport": &a.Port})
	if s.needServer(c, "radiusAction", a.Name, a.ServerIP+a.ServerName) {
		s.ns.backends.RADIUS = append(s.ns.backends.RADIUS, a)
	}
}

// addSAMLAction reads the samlAction options authdev emulates; finish names
// every other one.
func (s *session) addSAMLAction(c *command) {
	if !s.aaaArgs(c, 1, "add authentication samlAction NAME -samlIdPCertName CERT -samlRedirectUrl URL") {
		return
	}
	a := SAMLAction{Name: c.args[0].text, Binding: "POST", SignatureAlg: "RSA-SHA256", DigestMethod: "SHA256", RejectUnsigned: "ON", Pos: c.pos}
	strOpts(c, map[string]*string{"samlidpcertname": &a.IdPCertName, "samlredirecturl": &a.RedirectURL,
		"samluserfield": &a.UserField, "samlsigningcertname": &a.SigningCertName, "samlissuername": &a.IssuerName,
		"samlbinding": &a.Binding, "relaystaterule": &a.RelayStateRule, "signaturealg": &a.SignatureAlg,
		"digestmethod": &a.DigestMethod, "logouturl": &a.LogoutURL, "groupnamefield": &a.GroupNameField,
		"defaultauthenticationgroup": &a.DefaultGroup, "metadataurl": &a.MetadataURL,
		"artifactresolutionserviceurl": &a.ArtifactResolutionURL, "audience": &a.Audience,
		"samlrejectunsignedassertion": &a.RejectUnsigned})
	for _, v := range []*string{&a.Binding, &a.SignatureAlg, &a.DigestMethod, &a.RejectUnsigned} {
		*v = strings.ToUpper(*v)
	}
	a.ForceAuthn = s.onOff(c, "forceauthn", false)
	for i := 1; i <= 16; i++ {
		if v, o := c.optVal("attribute" + strconv.Itoa(i)); o != nil && v != "" {
			a.Attributes = append(a.Attributes, v)
		}
	}
	if v, o := c.optVal("attributes"); o != nil {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				a.Attributes = append(a.Attributes, f)
			}
		}
	}
	if !s.samlActionValid(c, &a) {
		return
	}
	if o := c.opt("relaystaterule"); o != nil && len(o.vals) > 0 {
		a.relayRule = s.tokExpr(c, o.vals[0])
	}
	s.finish(c)
	s.ns.backends.SAML = append(s.ns.backends.SAML, a)
}

// samlActionValid checks the samlAction options whose values the ADC
// constrains, and reads -skewTime; a wrong one fails the command where it
// is written.
func (s *session) samlActionValid(c *command, a *SAMLAction) bool {
	switch a.Binding {
	case "POST", "REDIRECT", "ARTIFACT":
	default:
		s.failTok(c, c.opt("samlbinding").tok, "-samlBinding %q: use POST, REDIRECT or ARTIFACT", a.Binding)
		return false
	}
	// The appliance offers these two pairs only (command reference,
	// authentication samlAction: -signatureAlg ( RSA-SHA1 | RSA-SHA256 )
	// -digestMethod ( SHA1 | SHA256 )); any pair of them may be set.
	if a.SignatureAlg != "RSA-SHA1" && a.SignatureAlg != "RSA-SHA256" {
		s.failTok(c, c.opt("signaturealg").tok, "-signatureAlg %q: use RSA-SHA256 or RSA-SHA1", a.SignatureAlg)
		return false
	}
	if a.DigestMethod != "SHA1" && a.DigestMethod != "SHA256" {
		s.failTok(c, c.opt("digestmethod").tok, "-digestMethod %q: use SHA256 or SHA1", a.DigestMethod)
		return false
	}
	switch a.RejectUnsigned {
	case "ON", "STRICT", "OFF":
	default:
		s.failTok(c, c.opt("samlrejectunsignedassertion").tok, "-samlRejectUnsignedAssertion %q: use ON or STRICT", a.RejectUnsigned)
		return false
	}
	if o := c.opt("metadataurl"); o != nil && !config.IsHTTPURL(a.MetadataURL) {
		s.failTok(c, o.tok, "-metadataUrl %q is not an http(s) URL: give the URL the IdP publishes its SAML metadata at", a.MetadataURL)
		return false
	}
	if v, o := c.optVal("skewtime"); o != nil {
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			s.failTok(c, o.tok, "-skewTime %q is not a number of minutes, such as 5", v)
			return false
		}
		a.SkewTime = v
	}
	return true
}

// addCertKey keeps a certKey for the samlActions that name it; for TLS it
// stays not emulated (authdev terminates TLS with its local CA).
func (s *session) addCertKey(c *command) {
	if len(c.args) > 0 {
		ck := CertKey{Name: c.args[0].text, Pos: c.pos}
		strOpts(c, map[string]*string{"cert": &ck.Cert, "key": &ck.Key})
		for _, f := range []*string{&ck.Cert, &ck.Key} {
			if *f != "" && !filepath.IsAbs(*f) {
				*f = filepath.Join(filepath.Dir(c.pos.File), *f)
			}
		}
		s.ns.backends.CertKeys = append(s.ns.backends.CertKeys, ck)
	}
	s.warn(c.pos, c.verbText(), EffectNone, fmt.Sprintf("%q is not emulated: %s", c.verbText(), families["ssl"].why))
}

// addClassicAuthnPolicy is `add authentication ldapPolicy|radiusPolicy|
// samlPolicy NAME RULE ACTION`, whose rule is a classic expression.
func (s *session) addClassicAuthnPolicy(c *command) {
	if !s.aaaArgs(c, 3, c.verbText()+" NAME RULE ACTION") {
		return
	}
	name := c.args[0].text
	s.ns.authnPols[name] = &nsPolicy{p: &policy{name: name, kind: kindAuthentication, rule: c.args[1].text, action: c.args[2].text, pos: c.pos},
		action: c.args[2], cmd: c}
	s.finish(c)
}

func (s *session) addLoginSchema(c *command) {
	if !s.aaaArgs(c, 1, "add authentication loginSchema NAME -authenticationSchema FILE") {
		return
	}
	ls := LoginSchema{Name: c.args[0].text, Pos: c.pos}
	strOpts(c, map[string]*string{"authenticationschema": &ls.AuthenticationSchema, "userexpression": &ls.UserExpression,
		"passwdexpression": &ls.PasswordExpression})
	c.useAll()
	s.ns.backends.LoginSchemas = append(s.ns.backends.LoginSchemas, ls)
}

func (s *session) addPolicyLabel(c *command) {
	if !s.aaaArgs(c, 1, "add authentication policylabel NAME [-loginSchema SCHEMA]") {
		return
	}
	l := PolicyLabel{Name: c.args[0].text, Pos: c.pos}
	l.LoginSchema, _ = c.optVal("loginschema")
	c.useAll()
	s.ns.backends.Labels = append(s.ns.backends.Labels, l)
}

func (s *session) bindPolicyLabel(c *command) {
	if !s.aaaArgs(c, 1, "bind authentication policylabel NAME -policyName POLICY -priority N") {
		return
	}
	labels := s.ns.backends.Labels
	i := len(labels) - 1
	for ; i >= 0 && labels[i].Name != c.args[0].text; i-- {
	}
	if i < 0 {
		s.failTok(c, c.args[0], "no policy label %q: add it first with `add authentication policylabel %s`", c.args[0].text, c.args[0].text)
		return
	}
	name, o := c.optVal("policyname")
	if o == nil || name == "" {
		s.failCmd(c, "expected -policyName POLICY")
		return
	}
	if _, ok := s.ns.authnPols[name]; !ok {
		s.failTok(c, o.vals[0], "no authentication policy %q%s", name, didYouMean(name, mapKeys(s.ns.authnPols)))
		return
	}
	b := &nsBind{}
	if !s.priority(c, b) {
		return
	}
	next, _ := c.optVal("nextfactor")
	labels[i].Binds = append(labels[i].Binds, LabelBind{Policy: name, Priority: b.priority, Goto: b.gotoExpr, NextFactor: next, Pos: c.pos, cmd: c})
	c.useAll()
}

// authnNote is the one sentence that says how authentication back-ends are
// emulated, or "" when the ns.conf has none.
func authnNote(b AuthnBackends) string {
	if b.Empty() {
		return ""
	}
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(len(b.LDAP), "LDAP")
	add(len(b.RADIUS), "RADIUS")
	add(len(b.SAML), "SAML")
	add(len(b.LoginSchemas), "login schema")
	add(len(b.Labels), "nFactor policy label")
	return strings.Join(parts, ", ") + ": emulated by a login through authdev's IdP (the persona is the user)"
}
