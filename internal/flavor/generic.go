package flavor

import "github.com/authdev/authdev/config"

// generic is authdev's own shape: RFC 9068 access tokens (typ at+jwt) with
// the persona's groups and mapped roles in every token.
var generic = Spec{
	Layout:          func(env *config.Environment) Layout { return flatLayout("/" + env.Name) },
	Subject:         uuidSubject,
	GroupsClaim:     "groups",
	GroupValue:      sameGroup,
	AccessTokenType: func(*config.Environment) string { return "at+jwt" },
	ClaimsSupported: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "jti", "azp",
		"client_id", "scope", "email", "email_verified", "name", "preferred_username", "groups", "roles"},
	Shape: func(t *Token) {
		if t.Kind == ClientAccess {
			return
		}
		c := t.Claims
		profile(c, t.User)
		c["preferred_username"] = t.User.Persona
		c["groups"] = t.User.Groups
		c["roles"] = rolesOf(t)
		personaClaims(c, t.User, asIs)
	},
	SAML: plainSAMLNames("roles", config.SAMLAttrNameFormatBasic),
}
