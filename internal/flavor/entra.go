package flavor

import (
	"encoding/base64"
	"strings"

	"github.com/authdev/authdev/config"
)

// entra is a Microsoft Entra ID tenant's v2.0 endpoint: issuer
// /<env>/<tenant>/v2.0 with endpoints under /<env>/<tenant>/oauth2/v2.0/.
// Tokens carry tid, oid and ver 2.0; delegated access tokens carry scp as
// one string, app-only tokens carry the client's app roles and no scp;
// groups are object IDs unless the environment asks for names. Userinfo
// has only the basic profile, as Microsoft Graph's does.
var entra = Spec{
	Layout:  entraLayout,
	Subject: entraSubject,
	// Groups arrive as object IDs; the proxy maps them with ProxyRoles.
	GroupsClaim:     "groups",
	GroupValue:      entraGroup,
	UserNameClaim:   "preferred_username",
	AccessTokenType: jwtType,
	ClaimsSupported: []string{"sub", "iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "at_hash", "sid",
		"name", "email", "preferred_username", "oid", "tid", "ver", "azp", "scp", "roles", "groups", "idtyp"},
	Shape: entraShape,
	// Entra ID's SAML tokens name claims by URI, with no NameFormat:
	// https://learn.microsoft.com/en-us/entra/identity-platform/reference-saml-tokens
	SAML: config.SAMLAttributeNames{
		Email:       "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
		Name:        "http://schemas.microsoft.com/identity/claims/displayname",
		Groups:      "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
		Roles:       "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
		ClaimPrefix: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/",
	},
}

// entraTenant is env's tenant GUID: configured, or derived from its name.
func entraTenant(env *config.Environment) string {
	if env.Entra != nil && env.Entra.TenantID != "" {
		return env.Entra.TenantID
	}
	return UUID("tid", env.Name)
}

func entraLayout(env *config.Environment) Layout {
	tenant := "/" + env.Name + "/" + entraTenant(env)
	oauth := tenant + "/oauth2/v2.0"
	return Layout{
		Issuer: tenant + "/v2.0", Authorization: oauth + "/authorize", Token: oauth + "/token",
		UserInfo: "/" + env.Name + "/oidc/userinfo", JWKS: tenant + "/discovery/v2.0/keys",
		Introspection: oauth + "/introspect", Revocation: oauth + "/revoke", EndSession: oauth + "/logout",
		DeviceAuthorization: oauth + "/devicecode", DeviceVerification: "/" + env.Name + "/devicelogin",
	}
}

// entraSubject is pairwise and opaque, as Entra's sub is; oid is the
// stable object ID.
func entraSubject(env *config.Environment, persona string) string {
	return base64.RawURLEncoding.EncodeToString(hash("sub", env.Name, persona))[:43]
}

func entraGroup(env *config.Environment, group string) string {
	if env.Entra != nil && env.Entra.GroupNames {
		return group
	}
	return UUID("group", env.Name, group)
}

func entraShape(t *Token) {
	c := t.Claims
	c["tid"] = entraTenant(t.Env)
	switch t.Kind {
	case UserInfo:
		// Graph's userinfo: sub and the basic profile, nothing else.
		c["name"] = t.User.Name
		c["email"] = t.User.Email
		return
	case ClientAccess:
		drop(c, "client_id", "scope")
		c["azp"] = t.ClientID
		c["oid"] = UUID("oid", t.Env.Name, "client", t.ClientID)
		c["sub"] = c["oid"]
		c["ver"] = "2.0"
		if len(t.ClientRoles) > 0 {
			c["roles"] = t.ClientRoles
		}
		if t.Env.Entra != nil && t.Env.Entra.AppIDType {
			c["idtyp"] = "app"
		}
		return
	case UserAccess:
		drop(c, "client_id", "scope", "auth_time", "sid")
		c["azp"] = t.ClientID
		c["scp"] = strings.Join(t.Scopes, " ")
		// The email optional claim, which apps behind a proxy turn on.
		c["email"] = t.User.Email
	case IDToken:
		drop(c, "azp")
		c["email"] = t.User.Email
	}
	c["ver"] = "2.0"
	c["oid"] = UUID("oid", t.Env.Name, t.User.Persona)
	c["name"] = t.User.Name
	c["preferred_username"] = t.User.Email
	// Entra leaves out claims that have no value.
	if roles := rolesOf(t); len(roles) > 0 {
		c["roles"] = roles
	}
	if len(t.User.Groups) > 0 {
		groups := make([]string, len(t.User.Groups))
		for i, g := range t.User.Groups {
			groups[i] = entraGroup(t.Env, g)
		}
		c["groups"] = groups
	}
	personaClaims(c, t.User, asIs)
}
