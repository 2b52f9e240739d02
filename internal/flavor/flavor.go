package flavor

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/authdev/authdev/config"
)

// Kind is what a claim set is for.
type Kind int

// The token kinds a flavor shapes.
const (
	IDToken      Kind = iota // a persona's ID token
	UserAccess               // a persona's access token
	ClientAccess             // a client's own access token (client_credentials)
	UserInfo                 // the userinfo answer for a persona
)

// Token is one claim set being shaped. The mock IdP fills the protocol
// claims every flavor shares (iss, sub, aud, exp, iat, nbf, jti,
// client_id, scope, auth_time, sid, azp, nonce, at_hash, as the kind has
// them) before Shape adds, renames or removes what the provider does.
type Token struct {
	Kind     Kind
	Env      *config.Environment
	Issuer   string
	User     config.Identity // zero for ClientAccess
	ClientID string
	// ClientRoles are the app roles granted to the client itself.
	ClientRoles []string
	Scopes      []string
	// Grant identifies the issuance: the access and ID token issued
	// together share it, as providers' event and origin ids do.
	Grant  string
	Claims map[string]any
}

// Layout is where an issuer and its endpoints live, as paths under the
// server's base URL (which may have a path of its own).
type Layout struct {
	Issuer                                  string
	Authorization, Token, UserInfo, JWKS    string
	Introspection, Revocation, EndSession   string
	DeviceAuthorization, DeviceVerification string
	// ExtraLogout is a second logout endpoint with the provider's own
	// parameters (Auth0's /v2/logout); "" when there is none.
	ExtraLogout string
}

// Spec is one flavor.
type Spec struct {
	// Layout places env's issuer and endpoints.
	Layout func(env *config.Environment) Layout
	// Subject is the stable sub of persona in env: derived, not stored, so
	// it survives restarts and is the same on every machine.
	Subject func(env *config.Environment, persona string) string
	// GroupsClaim carries groups in every token kind but client ones.
	GroupsClaim string
	// GroupValue is how a group named in authdev.yaml appears in the
	// groups claim (Entra: an object ID).
	GroupValue func(env *config.Environment, group string) string
	// ClientBoundAccess says access tokens carry no aud: relying parties
	// check client_id instead (Cognito).
	ClientBoundAccess bool
	// UserNameClaim is the access-token claim that names the user for the
	// proxy's AAA.USER.NAME; "" keeps the proxy's default (email).
	UserNameClaim string
	// AccessTokenType is the JOSE typ header of access tokens; "" sends
	// none, as Okta and Cognito do.
	AccessTokenType func(env *config.Environment) string
	// ClaimsSupported is the discovery document's claims_supported.
	ClaimsSupported []string
	// Shape adds the flavor's claims to t.Claims.
	Shape func(t *Token)
	// SAML names the attributes of the provider's SAML assertions.
	SAML config.SAMLAttributeNames
	// SAMLEntityIDPath, when set, is the path of the SAML IdP's entity id
	// on an http:// URL of the IdP's host, as ADFS names itself whatever
	// its scheme; nil makes the metadata URL the entity id.
	SAMLEntityIDPath func(env *config.Environment) string
}

// specs is the table: a flavor's name to its Spec.
var specs = map[config.Flavor]*Spec{
	config.FlavorGeneric:  &generic,
	config.FlavorOkta:     &okta,
	config.FlavorEntra:    &entra,
	config.FlavorKeycloak: &keycloak,
	config.FlavorCognito:  &cognito,
	config.FlavorAuth0:    &auth0,
	config.FlavorADFS:     &adfs,
}

// Of is the Spec of f; configuration validation has refused unknown names,
// so anything else is the generic flavor.
func Of(f config.Flavor) *Spec {
	if s, ok := specs[f]; ok {
		return s
	}
	return &generic
}

// ProxyRoles is env's group-to-roles mapping keyed as the groups claim
// names groups, for the proxy that maps what it reads in tokens.
func (s *Spec) ProxyRoles(env *config.Environment) map[string][]string {
	out := make(map[string][]string, len(env.Roles))
	for g, roles := range env.Roles {
		out[s.GroupValue(env, g)] = roles
	}
	return out
}

func sameGroup(_ *config.Environment, g string) string { return g }

// plainSAMLNames are SAML attribute names without a namespace.
func plainSAMLNames(roles, nameFormat string) config.SAMLAttributeNames {
	return config.SAMLAttributeNames{Email: "email", Name: "name", Groups: "groups", Roles: roles, NameFormat: nameFormat}
}

// flatLayout puts every endpoint right under the issuer with authdev's
// own names: the generic flavor's layout, and the base of others.
func flatLayout(iss string) Layout {
	return Layout{
		Issuer: iss, Authorization: iss + "/authorize", Token: iss + "/token", UserInfo: iss + "/userinfo",
		JWKS: iss + "/jwks.json", Introspection: iss + "/introspect", Revocation: iss + "/revoke",
		EndSession: iss + "/logout", DeviceAuthorization: iss + "/device_authorization", DeviceVerification: iss + "/device",
	}
}

// protected claims carry the protocol or the flavor's shape: persona
// claims may not replace them, or a typo in authdev.yaml would yield
// tokens no client accepts.
var protected = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "iat": true, "nbf": true, "jti": true,
	"nonce": true, "at_hash": true, "c_hash": true, "auth_time": true, "azp": true,
	"client_id": true, "scope": true, "sid": true, "typ": true, "token_use": true, "cnf": true, "act": true,
	"cid": true, "uid": true, "scp": true, "ver": true, "tid": true, "oid": true, "idtyp": true,
	"gty": true, "permissions": true, "realm_access": true, "resource_access": true, "version": true,
}

// personaClaims merges the persona's own claims into c, each name passed
// through rename (a namespace or prefix some providers require).
func personaClaims(c map[string]any, u config.Identity, rename func(string) string) {
	for k, v := range u.Claims {
		if name := rename(k); !protected[k] && !protected[name] {
			c[name] = v
		}
	}
}

func asIs(k string) string { return k }

// profile adds the OIDC standard claims of the profile and email scopes.
func profile(c map[string]any, u config.Identity) {
	c["email"] = u.Email
	c["email_verified"] = true
	c["name"] = u.Name
}

// drop removes claims the provider does not send in this kind of token.
func drop(c map[string]any, names ...string) {
	for _, n := range names {
		delete(c, n)
	}
}

// hash is the stable digest every derived identifier starts from.
func hash(parts ...string) []byte {
	h := sha256.Sum256([]byte("authdev/" + strings.Join(parts, "/")))
	return h[:]
}

// UUID formats the first 16 bytes of the hash of parts as a version 8
// UUID: stable identifiers shaped like the providers' object IDs.
func UUID(parts ...string) string {
	var b [16]byte
	copy(b[:], hash(parts...))
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// rolesOf are the persona's application roles in env.
func rolesOf(t *Token) []string { return t.Env.RolesFor(t.User.Groups) }

// withDefaults appends defaults missing from roles.
func withDefaults(roles []string, defaults ...string) []string {
	out := slices.Clone(roles)
	for _, d := range defaults {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// uuidSubject is the sub of providers whose user ids are UUIDs: stable per
// environment and persona.
func uuidSubject(env *config.Environment, persona string) string {
	return UUID("sub", env.Name, persona)
}

// jwtType is the typ header of providers that send plain "JWT".
func jwtType(*config.Environment) string { return "JWT" }
