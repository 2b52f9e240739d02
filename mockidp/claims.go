package mockidp

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/authdev/authdev/config"
)

// subject is the stable `sub` of persona in env, shaped like the flavor's
// user IDs. It is derived, not stored, so it survives restarts and is the
// same on every machine.
func subject(flavor, env, persona string) string {
	h := sha256.Sum256([]byte("authdev/sub/" + env + "/" + persona))
	switch flavor {
	case "okta":
		return "00u" + strings.ToLower(base32.StdEncoding.EncodeToString(h[:]))[:17]
	case "entra":
		// Entra's sub is pairwise and opaque; oid is the stable UUID.
		return base64.RawURLEncoding.EncodeToString(h[:32])[:43]
	case "auth0":
		return "auth0|" + hex.EncodeToString(h[:12])
	}
	return uuidFrom(h[:])
}

// objectID is Entra's oid: the user's UUID in the tenant.
func objectID(env, persona string) string {
	h := sha256.Sum256([]byte("authdev/oid/" + env + "/" + persona))
	return uuidFrom(h[:])
}

// tenantID is Entra's tid: one UUID per environment.
func tenantID(env string) string {
	h := sha256.Sum256([]byte("authdev/tid/" + env))
	return uuidFrom(h[:])
}

// uuidFrom formats the first 16 bytes of a hash as a version 8 UUID.
func uuidFrom(h []byte) string {
	var b [16]byte
	copy(b[:], h)
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// protected claims carry the protocol: persona claims may not replace them,
// or a typo in authdev.yaml would yield tokens no client accepts.
var protected = map[string]bool{
	"iss": true, "aud": true, "exp": true, "iat": true, "nbf": true, "jti": true,
	"nonce": true, "at_hash": true, "c_hash": true, "auth_time": true, "azp": true,
	"client_id": true, "scope": true, "sid": true, "typ": true, "token_use": true, "cnf": true, "act": true,
}

// tokenKind says which token identity claims go into.
type tokenKind int

const (
	kindID tokenKind = iota
	kindAccess
	kindUserinfo
)

// identityClaims adds a persona's claims to c, shaped like flavor's tokens.
// Persona claims are merged last (namespaced for auth0, which only allows
// custom claims under a URL).
func identityClaims(c map[string]any, flavor string, env *config.Environment, id config.Identity, kind tokenKind) {
	c["sub"] = subject(flavor, env.Name, id.Persona)
	c["email"] = id.Email
	c["email_verified"] = true
	c["name"] = id.Name
	roles := env.RolesFor(id.Groups)
	switch flavor {
	case "okta":
		c["groups"] = id.Groups
		c["preferred_username"] = id.Email
		if kind == kindAccess {
			c["uid"] = c["sub"]
		}
	case "entra":
		c["oid"] = objectID(env.Name, id.Persona)
		c["tid"] = tenantID(env.Name)
		c["preferred_username"] = id.Email
		c["groups"] = id.Groups
		c["roles"] = roles
		if kind != kindUserinfo {
			c["ver"] = "2.0"
		}
	case "keycloak":
		c["preferred_username"] = id.Persona
		c["groups"] = id.Groups
		c["realm_access"] = map[string]any{"roles": roles}
	case "cognito":
		c["cognito:groups"] = id.Groups
		c["cognito:username"] = id.Persona
		switch kind {
		case kindID:
			c["token_use"] = "id"
		case kindAccess:
			c["token_use"] = "access"
			c["username"] = id.Persona
		}
	case "auth0":
		c["nickname"] = id.Persona
		c[config.Auth0Namespace+"groups"] = id.Groups
		c[config.Auth0Namespace+"roles"] = roles
	default:
		c["preferred_username"] = id.Persona
		c["groups"] = id.Groups
		c["roles"] = roles
	}
	for k, v := range id.Claims {
		if flavor == "auth0" && !strings.Contains(k, "://") {
			k = config.Auth0Namespace + k
		}
		if !protected[k] {
			c[k] = v
		}
	}
}

// clientFlavorClaims adds what flavor puts in every access token about the
// client.
func clientFlavorClaims(c map[string]any, flavor, clientID string, scopes []string) {
	switch flavor {
	case "okta":
		c["cid"] = clientID
		c["scp"] = scopes
		c["ver"] = 1
	case "entra":
		c["azp"] = clientID
		c["scp"] = strings.Join(scopes, " ")
	case "keycloak":
		c["azp"] = clientID
		c["typ"] = "Bearer"
	case "cognito":
		if _, ok := c["token_use"]; !ok {
			c["token_use"] = "access"
		}
	case "auth0":
		c["azp"] = clientID
	}
}
