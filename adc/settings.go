package adc

import (
	"time"

	"github.com/authdev/authdev/config"
)

// Settings is what an ns.conf contributes to the proxy beyond policies.
type Settings struct {
	// Upstreams come from lb vservers with bound service groups or
	// services: one upstream per vserver, named after it.
	Upstreams []config.Upstream
	// SessionTimeout is the AAA-TM session timeout (tm sessionParameter or
	// sessionAction -sessTimeout), or proxy.session_timeout.
	SessionTimeout time.Duration
	// DefaultAuthorization is ALLOW or DENY: what happens when no
	// authorization policy matches. With an ns.conf that sets up AAA-TM it
	// is the ns.conf's, DENY unless set, as on the ADC.
	DefaultAuthorization string
	// DefaultAuthorizationFrom says where DefaultAuthorization was set.
	DefaultAuthorizationFrom string
	// AAATM reports that the ns.conf configures AAA-TM (authentication
	// vservers, OAuth actions, session or authorization policies).
	AAATM bool
	// OAuth is the relying-party settings of the OAuth action in use, nil
	// when the ns.conf has none.
	OAuth *OAuthAction
	// Authn are the authentication back-ends the ns.conf chains; authdev
	// emulates them by a login through its own IdP.
	Authn AuthnBackends
}

// OAuthAction is an `add authentication OAuthAction`: how the ADC acts as an
// OIDC relying party.
type OAuthAction struct {
	Name                    string
	AuthorizationEndpoint   string
	TokenEndpoint           string
	CertEndpoint            string // the JWKS URL
	ClientID                string
	ClientSecret            string // as written; may be ADC-encrypted (Encrypted)
	Encrypted               bool
	Issuer                  string
	Audience                string
	UserNameField           string   // default "email"
	Attributes              []string // claims exposed as AAA.USER.ATTRIBUTE(1..16)
	SkewTime                time.Duration
	UserInfoURL             string
	IntrospectURL           string
	GrantType               string // CODE (default) or PASSWORD
	PKCE                    bool   // default true
	TokenEndpointAuthMethod string // default client_secret_post
	AllowedAlgorithms       []string
	MetadataURL             string
	Pos                     config.Pos
}
