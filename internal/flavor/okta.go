package flavor

import (
	"encoding/base32"
	"strings"

	"github.com/authdev/authdev/config"
)

// okta is an Okta custom authorization server: issuer
// /<env>/oauth2/<server> with Okta's /v1/ endpoint names. Access tokens
// name the user by login (sub = email) and Okta id (uid), the client by
// cid, scopes as a list (scp); ID tokens carry ver, an "ID." jti, amr and
// idp. Neither sends a typ header.
var okta = Spec{
	Layout:  oktaLayout,
	Subject: oktaUserID,
	// A groups claim is the usual addition to an Okta authorization server.
	GroupsClaim:     "groups",
	GroupValue:      sameGroup,
	AccessTokenType: func(*config.Environment) string { return "" },
	ClaimsSupported: []string{"iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "idp", "nonce",
		"name", "email", "email_verified", "preferred_username", "at_hash", "cid", "uid", "scp", "groups"},
	Shape: oktaShape,
	// Okta sends the names of the app's attribute statements as written,
	// NameFormat unspecified: https://developer.okta.com/docs/concepts/saml/#attribute-statements
	SAML: plainSAMLNames("roles", config.SAMLAttrNameFormatUnspecified),
}

func oktaLayout(env *config.Environment) Layout {
	server := "default"
	if env.Okta != nil && env.Okta.AuthorizationServer != "" {
		server = env.Okta.AuthorizationServer
	}
	org := "/" + env.Name
	iss := org + "/oauth2/" + server
	return Layout{
		Issuer: iss, Authorization: iss + "/v1/authorize", Token: iss + "/v1/token", UserInfo: iss + "/v1/userinfo",
		JWKS: iss + "/v1/keys", Introspection: iss + "/v1/introspect", Revocation: iss + "/v1/revoke",
		EndSession: iss + "/v1/logout", DeviceAuthorization: iss + "/v1/device/authorize", DeviceVerification: org + "/activate",
	}
}

// oktaUserID is shaped like Okta's user ids: 00u and 17 characters.
func oktaUserID(env *config.Environment, persona string) string {
	return "00u" + strings.ToLower(base32.StdEncoding.EncodeToString(hash("sub", env.Name, persona)))[:17]
}

func oktaShape(t *Token) {
	c := t.Claims
	switch t.Kind {
	case UserAccess, ClientAccess:
		drop(c, "client_id", "scope", "nbf", "sid")
		c["ver"] = 1
		c["jti"] = "AT." + t.Grant
		c["cid"] = t.ClientID
		c["scp"] = t.Scopes
		if t.Kind == ClientAccess {
			return
		}
		c["uid"] = c["sub"]
		c["sub"] = t.User.Email
		// A custom claim, as groups is: the proxy names the user by it.
		c["email"] = t.User.Email
	case IDToken:
		drop(c, "azp")
		c["ver"] = 1
		c["jti"] = "ID." + t.Grant
		c["amr"] = []string{"pwd"}
		c["idp"] = oktaOrgID(t.Env)
		oktaProfile(c, t.User)
	case UserInfo:
		oktaProfile(c, t.User)
	}
	c["groups"] = t.User.Groups
	personaClaims(c, t.User, asIs)
}

func oktaProfile(c map[string]any, u config.Identity) {
	profile(c, u)
	c["preferred_username"] = u.Email
}

// oktaOrgID is the idp claim of users Okta itself authenticated: the org's
// id, 00o and 17 characters.
func oktaOrgID(env *config.Environment) string {
	return "00o" + strings.ToLower(base32.StdEncoding.EncodeToString(hash("org", env.Name)))[:17]
}
