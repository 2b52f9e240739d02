package identity

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Names and values of the contract between the proxy and backends.
const (
	// Header carries the assertion on every request the proxy forwards.
	Header = "X-Authdev-Assertion"
	// JWKSPath is where the proxy publishes its assertion keys, relative to
	// its URL (the assertion's issuer).
	JWKSPath = "/.authdev/jwks.json"
	// Algorithm is the only signature algorithm the proxy uses.
	Algorithm = "ES256"
	// Lifetime is how long an assertion is valid after it is issued.
	Lifetime = 60 * time.Second

	// The identity headers the proxy injects by default, for display and
	// for backends that cannot verify a JWT; trust the assertion instead.
	HeaderUser   = "X-Remote-User"
	HeaderGroups = "X-Remote-Groups"
	HeaderRoles  = "X-Remote-Roles"
)

// Claims is the payload of an assertion: the wire format the proxy signs and
// backends verify.
type Claims struct {
	Issuer    string           `json:"iss"`
	Audience  jwt.Audience     `json:"aud"`
	Subject   string           `json:"sub"`
	Email     string           `json:"email,omitempty"`
	Name      string           `json:"name,omitempty"`
	Groups    []string         `json:"groups"`
	Roles     []string         `json:"roles"`
	Env       string           `json:"env,omitempty"`
	Persona   string           `json:"persona,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat,omitempty"`
	Expiry    *jwt.NumericDate `json:"exp,omitempty"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	ID        string           `json:"jti,omitempty"`
}

// Identity is a verified caller: the claims of its assertion and the
// assertion itself.
type Identity struct {
	Claims
	// Raw is the assertion as received, for handing on to services that
	// verify it themselves.
	Raw string

	payload []byte
}

// HasRole reports whether the caller holds role in the active environment.
func (id *Identity) HasRole(role string) bool { return slices.Contains(id.Roles, role) }

// InGroup reports whether the caller is a member of the IdP group g.
func (id *Identity) InGroup(g string) bool { return slices.Contains(id.Groups, g) }

// AllClaims decodes every claim of the verified assertion, including any the
// proxy adds beyond [Claims].
func (id *Identity) AllClaims() (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(id.payload, &m); err != nil {
		return nil, fmt.Errorf("decoding assertion claims: %w", err)
	}
	return m, nil
}
