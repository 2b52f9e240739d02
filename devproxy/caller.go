package devproxy

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/authdev/authdev/adc"
)

// caller is who a request is from, established once per session cookie
// or bearer token and then reused for every request that carries it.
type caller struct {
	key     string // the session ID, or the bearer token itself
	via     string // "session" or "bearer"
	env     string
	persona string
	sub     string
	user    string // AAA.USER.NAME
	email   string
	name    string
	groups  []string
	roles   []string
	claims  map[string]any
	expires time.Time
	adcUser *adc.User
}

// registeredClaims are protocol claims, not facts about the user: they stay
// out of sessions and AAA.USER.ATTRIBUTE.
var registeredClaims = []string{"iss", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash",
	"auth_time", "jti", "azp", "acr", "amr", "sid", "typ", "scp", "scope", "client_id", "cid", "uid", "ver"}

// userClaims drops the protocol claims of a token.
func userClaims(all map[string]any) map[string]any {
	out := maps.Clone(all)
	for _, k := range registeredClaims {
		delete(out, k)
	}
	return out
}

// newCaller builds a caller from a token's claims as the environment
// shapes them (its groups claim, its role mapping), or, when login (nil
// for OIDC logins and bearer tokens) established them, as that SAML login
// does: its user field names the user.
func (e *envState) newCaller(claims map[string]any, persona string, login *SAMLLogin) (*caller, error) {
	id := &caller{env: e.Name, persona: persona, claims: claims}
	userClaim := e.userNameClaim(login)
	id.sub, _ = claims["sub"].(string)
	id.email, _ = claims["email"].(string)
	id.name, _ = claims["name"].(string)
	for _, c := range []string{userClaim, "email", "preferred_username", "upn", "sub"} {
		if v, ok := claims[c].(string); ok && v != "" {
			id.user = v
			break
		}
	}
	if id.user == "" {
		return nil, fmt.Errorf("the token names no user: it has no %q, email or sub claim", userClaim)
	}
	id.groups = stringList(claims[e.GroupsClaim])
	id.roles = e.rolesFor(id.groups)
	id.finish()
	if login != nil {
		id.adcUser.SAMLAction = login.Name
	}
	return id, nil
}

// finish builds what policies see. Attributes carry every claim plus the
// roles and groups as lists.
func (id *caller) finish() {
	if id.groups == nil {
		id.groups = []string{}
	}
	if id.roles == nil {
		id.roles = []string{}
	}
	attrs := make(map[string]any, len(id.claims)+2)
	maps.Copy(attrs, id.claims)
	attrs["groups"] = id.groups
	attrs["roles"] = id.roles
	id.adcUser = &adc.User{Name: id.user, Groups: id.groups, Roles: id.roles, Attributes: attrs}
}

// stringList reads a claim that holds a list of strings, a single string,
// or a comma list.
func stringList(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case string:
		var out []string
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
