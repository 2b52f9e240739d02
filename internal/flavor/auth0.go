package flavor

import (
	"encoding/hex"
	"slices"
	"strings"

	"github.com/authdev/authdev/config"
)

// Auth0Namespace prefixes the custom claims of the auth0 flavor: Auth0
// only lets Actions add claims under a URL namespace.
const Auth0Namespace = "https://authdev.dev/"

// auth0 is an Auth0 tenant: issuer /<env>/ (with its trailing slash) and
// Auth0's endpoint names. Access tokens asked with openid also name the
// userinfo endpoint in aud, carry permissions (RBAC's "add permissions in
// the access token") and only namespaced custom claims; client_credentials
// tokens are for <client>@clients with gty client-credentials. The RFC 9068
// profile (typ at+jwt, client_id, jti) is an option.
var auth0 = Spec{
	Layout: auth0Layout,
	Subject: func(env *config.Environment, persona string) string {
		return "auth0|" + hex.EncodeToString(hash("sub", env.Name, persona)[:12])
	},
	GroupsClaim:     Auth0Namespace + "groups",
	GroupValue:      sameGroup,
	UserNameClaim:   Auth0Namespace + "email",
	AccessTokenType: auth0AccessType,
	ClaimsSupported: []string{"aud", "auth_time", "created_at", "email", "email_verified", "exp", "family_name", "given_name",
		"iat", "identities", "iss", "name", "nickname", "phone_number", "picture", "sub", "sid", "nonce", "at_hash",
		Auth0Namespace + "groups", Auth0Namespace + "roles", Auth0Namespace + "email"},
	Shape: auth0Shape,
	// The SAML2 Web App add-on uses the WS-Federation claim types of ADFS:
	// https://auth0.com/docs/authenticate/protocols/saml/saml-configuration/saml-assertions
	SAML: config.SAMLAttributeNames{
		Email:       "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
		Name:        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
		Groups:      "http://schemas.xmlsoap.org/claims/Group",
		Roles:       "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
		ClaimPrefix: "http://schemas.auth0.com/",
		NameFormat:  config.SAMLAttrNameFormatURI,
	},
}

func auth0RFC9068(env *config.Environment) bool { return env.Auth0 != nil && env.Auth0.RFC9068 }

func auth0AccessType(env *config.Environment) string {
	if auth0RFC9068(env) {
		return "at+jwt"
	}
	return "JWT"
}

func auth0Layout(env *config.Environment) Layout {
	t := "/" + env.Name
	return Layout{
		Issuer: t + "/", Authorization: t + "/authorize", Token: t + "/oauth/token", UserInfo: t + "/userinfo",
		JWKS: t + "/.well-known/jwks.json", Introspection: t + "/oauth/introspect", Revocation: t + "/oauth/revoke",
		EndSession: t + "/oidc/logout", DeviceAuthorization: t + "/oauth/device/code", DeviceVerification: t + "/activate",
		ExtraLogout: t + "/v2/logout",
	}
}

func auth0Shape(t *Token) {
	c := t.Claims
	if t.Kind == UserAccess || t.Kind == ClientAccess {
		drop(c, "nbf", "sid", "auth_time")
		if !auth0RFC9068(t.Env) {
			drop(c, "client_id", "jti")
		}
		c["azp"] = t.ClientID
	}
	switch t.Kind {
	case ClientAccess:
		c["sub"] = t.ClientID + "@clients"
		c["gty"] = "client-credentials"
		return
	case UserAccess:
		if slices.Contains(t.Scopes, "openid") {
			c["aud"] = withDefaults(audList(c["aud"]), t.Issuer+"userinfo")
		}
		c["permissions"] = auth0Permissions(t)
		c[Auth0Namespace+"email"] = t.User.Email
	case IDToken:
		drop(c, "azp")
		fallthrough
	default:
		profile(c, t.User)
		c["nickname"] = t.User.Persona
	}
	c[Auth0Namespace+"groups"] = t.User.Groups
	c[Auth0Namespace+"roles"] = rolesOf(t)
	personaClaims(c, t.User, func(k string) string {
		if strings.Contains(k, "://") {
			return k
		}
		return Auth0Namespace + k
	})
}

// auth0Permissions are the permissions of the persona's roles: the
// environment's auth0.permissions, or each role as its own permission.
func auth0Permissions(t *Token) []string {
	perms := []string{}
	for _, r := range rolesOf(t) {
		granted := []string{r}
		if t.Env.Auth0 != nil && t.Env.Auth0.Permissions != nil {
			granted = t.Env.Auth0.Permissions[r]
		}
		perms = withDefaults(perms, granted...)
	}
	return perms
}

func audList(aud any) []string {
	switch a := aud.(type) {
	case string:
		return []string{a}
	case []string:
		return a
	}
	return nil
}
