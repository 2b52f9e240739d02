package adc

import (
	"net/http"
	"strings"

	"github.com/authdev/authdev/config"
)

// AuthnBackends are the authentication back-ends an ns.conf chains (LDAP,
// RADIUS, SAML, nFactor login schemas and policy labels). authdev emulates
// every one of them the same way: the user logs in through authdev's IdP,
// and the persona is the user; a samlAction whose IdP certificate is at
// hand logs in at its own IdP. They are kept, typed, for what builds on
// them (the SAML service provider reads SAML).
type AuthnBackends struct {
	LDAP         []LDAPAction
	RADIUS       []RADIUSAction
	SAML         []SAMLAction
	LoginSchemas []LoginSchema
	Labels       []PolicyLabel
	// CertKeys are the `add ssl certKey`s, which samlActions name.
	CertKeys []CertKey
	// Flow is the nFactor flow of browser logins; nil when no
	// authentication vserver has policies bound.
	Flow *AuthnFlow
}

// CertKey is an `add ssl certKey NAME -cert FILE [-key FILE]`; a relative
// file is resolved against the ns.conf's directory (the appliance's is
// /nsconfig/ssl), so certificates copied beside the ns.conf are found.
type CertKey struct {
	Name string
	Cert string // -cert
	Key  string // -key
	Pos  config.Pos
}

// CertKey finds the certKey name, case-blind as the ADC's names are.
func (b AuthnBackends) CertKey(name string) (CertKey, bool) {
	for _, ck := range b.CertKeys {
		if strings.EqualFold(ck.Name, name) {
			return ck, true
		}
	}
	return CertKey{}, false
}

// Empty reports that the ns.conf names no authentication back-end.
func (b AuthnBackends) Empty() bool {
	return len(b.LDAP)+len(b.RADIUS)+len(b.SAML)+len(b.LoginSchemas)+len(b.Labels) == 0
}

// LDAPAction is an `add authentication ldapAction`.
type LDAPAction struct {
	Name             string
	ServerIP         string // -serverIP
	ServerName       string // -serverName
	Port             string // -serverPort, default 389
	SecType          string // -secType PLAINTEXT|TLS|SSL, default PLAINTEXT
	Base             string // -ldapBase
	BindDN           string // -ldapBindDn
	LoginName        string // -ldapLoginName, such as sAMAccountName
	SearchFilter     string // -searchFilter
	GroupAttribute   string // -groupAttrName, such as memberOf
	SubAttribute     string // -subAttributeName, such as CN
	SSONameAttribute string // -ssoNameAttribute
	Pos              config.Pos
}

// RADIUSAction is an `add authentication radiusAction`.
type RADIUSAction struct {
	Name       string
	ServerIP   string // -serverIP
	ServerName string // -serverName
	Port       string // -serverPort, default 1812
	Pos        config.Pos
}

// SAMLAction is an `add authentication samlAction`: the ADC as a SAML
// service provider.
type SAMLAction struct {
	Name            string
	IdPCertName     string   // -samlIdPCertName: the certKey that signs the IdP's assertions
	RedirectURL     string   // -samlRedirectUrl: the IdP's SSO URL
	UserField       string   // -samlUserField: the attribute that names the user; "" for the NameID
	SigningCertName string   // -samlSigningCertName: the certKey that signs AuthnRequests
	IssuerName      string   // -samlIssuerName: the SP's entity id
	Binding         string   // -samlBinding POST (default), REDIRECT or ARTIFACT
	Attributes      []string // -attribute1..16 in order, then -Attributes
	RelayStateRule  string   // -relaystateRule
	SignatureAlg    string   // -signatureAlg, default RSA-SHA256
	DigestMethod    string   // -digestMethod, default SHA256
	LogoutURL       string   // -logoutURL
	// GroupNameField is the attribute whose values are the user's groups
	// (-groupNameField); "" for the IdP's groups attribute.
	GroupNameField string
	DefaultGroup   string // -defaultAuthenticationGroup: a group of every user it logs in
	// MetadataURL is the IdP's metadata (-metadataUrl), which then gives
	// what -samlRedirectUrl and -samlIdPCertName would.
	MetadataURL           string
	ArtifactResolutionURL string // -artifactResolutionServiceURL: where artifacts are resolved
	ForceAuthn            bool   // -forceAuthn ON: the IdP authenticates the user at every login
	SkewTime              string // -skewTime: minutes of clock skew allowed, a number; "" when not written (the ADC's default is 5)
	Audience              string // -audience: the audience assertions must name; default -samlIssuerName
	// RejectUnsigned is -samlRejectUnsignedAssertion: ON (the default)
	// rejects an unsigned assertion, STRICT an unsigned Response too; OFF,
	// which older firmware has, accepts unsigned assertions.
	RejectUnsigned string
	// RelayStateCheck evaluates -relaystateRule on a login's RelayState,
	// with r, the IdP's post to the assertion consumer service, as
	// HTTP.REQ: false (with why, when the rule is UNDEF) refuses the
	// login; nil without a rule.
	RelayStateCheck func(r *http.Request, relayState string) (ok bool, undef string)
	relayRule       exprSrc
	Pos             config.Pos
}

// LoginSchema is an `add authentication loginSchema`: the login form of one
// nFactor step.
type LoginSchema struct {
	Name                 string
	AuthenticationSchema string // -authenticationSchema, the XML form
	UserExpression       string // -userExpression
	PasswordExpression   string // -passwdExpression
	Pos                  config.Pos
}

// PolicyLabel is an nFactor step: `add authentication policylabel` and its
// binds.
type PolicyLabel struct {
	Name        string
	LoginSchema string
	Binds       []LabelBind
	Pos         config.Pos
}

// LabelBind is a policy bound to a policy label.
type LabelBind struct {
	Policy     string
	Priority   int
	Goto       string
	NextFactor string
	Pos        config.Pos
	cmd        *command
}
