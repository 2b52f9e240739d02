package flavor

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/authdev/authdev/config"
)

// adfs is Active Directory Federation Services (2016 and later): issuer
// /<env>/adfs with ADFS's endpoint names under it, as its discovery
// document at /adfs/.well-known/openid-configuration lists them
// (https://learn.microsoft.com/en-us/windows-server/identity/ad-fs/development/ad-fs-openid-connect-oauth-concepts).
// Tokens name the user by upn and unique_name (DOMAIN\user), carry the
// Group and role claim types of the issuance rules under their JWT names
// group and role (one value as a string, several as a list); access
// tokens are ver 1.0 with appid, scp as one string and auth_time as a
// timestamp string; userinfo answers sub alone. Its SAML IdP is
// http://<host>/adfs/services/trust with the WS-Federation claim types.
var adfs = Spec{
	Layout:          adfsLayout,
	Subject:         adfsSubject,
	GroupsClaim:     "group",
	GroupValue:      sameGroup,
	UserNameClaim:   "upn",
	AccessTokenType: jwtType,
	// ADFS's claims_supported, with the claim types it issues by rule.
	ClaimsSupported: []string{"aud", "iss", "iat", "exp", "auth_time", "nonce", "at_hash", "c_hash", "sub", "upn",
		"unique_name", "pwd_url", "pwd_exp", "mfa_auth_time", "sid", "nbf", "group", "role"},
	Shape: adfsShape,
	SAML: config.SAMLAttributeNames{
		Email:       "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
		UPN:         "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
		Name:        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
		Groups:      "http://schemas.xmlsoap.org/claims/Group",
		Roles:       "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
		ClaimPrefix: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/",
	},
	SAMLEntityIDPath: func(env *config.Environment) string { return "/" + env.Name + "/adfs/services/trust" },
}

// adfsAuthMethod is the authmethod of a forms (password) login.
const adfsAuthMethod = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

func adfsLayout(env *config.Environment) Layout {
	iss := "/" + env.Name + "/adfs"
	oauth := iss + "/oauth2"
	return Layout{
		Issuer: iss, Authorization: oauth + "/authorize/", Token: oauth + "/token/", UserInfo: iss + "/userinfo",
		JWKS: iss + "/discovery/keys", Introspection: oauth + "/introspect", Revocation: oauth + "/revoke",
		EndSession: oauth + "/logout", DeviceAuthorization: oauth + "/devicecode", DeviceVerification: oauth + "/deviceauth",
	}
}

// adfsSubject is the base64 of a per-user hash, as ADFS's PPID-like sub.
func adfsSubject(env *config.Environment, persona string) string {
	return base64.StdEncoding.EncodeToString(hash("sub", env.Name, persona))
}

func adfsShape(t *Token) {
	c := t.Claims
	switch t.Kind {
	case UserInfo:
		// ADFS's userinfo endpoint answers the subject only.
		for k := range c {
			if k != "sub" {
				delete(c, k)
			}
		}
		return
	case ClientAccess, UserAccess:
		drop(c, "client_id", "scope", "azp", "jti", "sid")
		c["appid"] = t.ClientID
		c["ver"] = "1.0"
		c["scp"] = strings.Join(t.Scopes, " ")
		c["authmethod"] = adfsAuthMethod
		if at, ok := c["auth_time"].(int64); ok {
			c["auth_time"] = time.Unix(at, 0).UTC().Format("2006-01-02T15:04:05.000Z")
		}
		if t.Kind == ClientAccess {
			c["apptype"] = "Confidential"
			return
		}
	case IDToken:
		drop(c, "azp")
	}
	c["upn"] = t.User.Email
	c["unique_name"] = strings.ToUpper(t.Env.Name) + `\` + t.User.Persona
	adfsMulti(c, "group", t.User.Groups)
	adfsMulti(c, "role", rolesOf(t))
	personaClaims(c, t.User, asIs)
}

// adfsMulti sets a claim as ADFS's JWT writer does: absent without values,
// a string with one, a list with several.
func adfsMulti(c map[string]any, name string, values []string) {
	switch len(values) {
	case 0:
	case 1:
		c[name] = values[0]
	default:
		c[name] = values
	}
}
