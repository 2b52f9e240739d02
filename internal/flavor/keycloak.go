package flavor

import (
	"maps"
	"slices"

	"github.com/authdev/authdev/config"
)

// keycloak is a Keycloak realm: issuer /<env>/realms/<realm> with the
// endpoints under /protocol/openid-connect/, so adapters configured by
// server URL and realm find them. Tokens carry typ (Bearer or ID), azp,
// realm_access.roles with Keycloak's default roles, resource_access with
// the client roles the environment maps and the account client's; service
// accounts are users named service-account-<client>.
var keycloak = Spec{
	Layout:          keycloakLayout,
	Subject:         uuidSubject,
	GroupsClaim:     "groups",
	GroupValue:      sameGroup,
	AccessTokenType: jwtType,
	ClaimsSupported: []string{"aud", "sub", "iss", "iat", "exp", "nonce", "at_hash", "auth_time", "name", "given_name", "family_name", "preferred_username",
		"email", "acr", "azp", "typ", "sid", "scope", "email_verified", "realm_access", "resource_access", "groups"},
	Shape: keycloakShape,
	// Keycloak's role list mapper calls its attribute "Role".
	SAML: plainSAMLNames("Role", config.SAMLAttrNameFormatBasic),
}

// keycloakRealm is env's realm: configured, or the environment's name.
func keycloakRealm(env *config.Environment) string {
	if env.Keycloak != nil && env.Keycloak.Realm != "" {
		return env.Keycloak.Realm
	}
	return env.Name
}

func keycloakLayout(env *config.Environment) Layout {
	iss := "/" + env.Name + "/realms/" + keycloakRealm(env)
	oidc := iss + "/protocol/openid-connect"
	return Layout{
		Issuer: iss, Authorization: oidc + "/auth", Token: oidc + "/token", UserInfo: oidc + "/userinfo",
		JWKS: oidc + "/certs", Introspection: oidc + "/token/introspect", Revocation: oidc + "/revoke",
		EndSession: oidc + "/logout", DeviceAuthorization: oidc + "/auth/device", DeviceVerification: iss + "/device",
	}
}

func keycloakShape(t *Token) {
	c := t.Claims
	switch t.Kind {
	case ClientAccess:
		drop(c, "nbf")
		c["typ"] = "Bearer"
		c["azp"] = t.ClientID
		c["sub"] = UUID("service-account", t.Env.Name, t.ClientID)
		c["preferred_username"] = "service-account-" + t.ClientID
		c["email_verified"] = false
		c["realm_access"] = map[string]any{"roles": keycloakDefaultRoles(t.Env, nil)}
		c["acr"] = "1"
		return
	case UserAccess:
		drop(c, "client_id", "nbf")
		c["typ"] = "Bearer"
		c["azp"] = t.ClientID
		c["acr"] = "1"
		c["realm_access"] = map[string]any{"roles": keycloakDefaultRoles(t.Env, rolesOf(t))}
		c["resource_access"] = keycloakClientRoles(t)
	case IDToken:
		c["typ"] = "ID"
		c["acr"] = "1"
	}
	profile(c, t.User)
	c["preferred_username"] = t.User.Persona
	c["groups"] = t.User.Groups
	personaClaims(c, t.User, asIs)
}

// keycloakDefaultRoles adds the roles every user of a realm has.
func keycloakDefaultRoles(env *config.Environment, roles []string) []string {
	return withDefaults(roles, "offline_access", "uma_authorization", "default-roles-"+keycloakRealm(env))
}

// keycloakClientRoles is resource_access: the client roles the
// environment maps from the persona's groups, and the account client's
// default roles.
func keycloakClientRoles(t *Token) map[string]any {
	out := map[string]any{"account": map[string]any{"roles": []string{"manage-account", "manage-account-links", "view-profile"}}}
	if t.Env.Keycloak == nil {
		return out
	}
	for _, client := range slices.Sorted(maps.Keys(t.Env.Keycloak.ClientRoles)) {
		byGroup := t.Env.Keycloak.ClientRoles[client]
		roles := []string{}
		for _, g := range t.User.Groups {
			roles = withDefaults(roles, byGroup[g]...)
		}
		if len(roles) > 0 {
			out[client] = map[string]any{"roles": roles}
		}
	}
	return out
}
