package mockidp

import (
	"net/http"

	"github.com/go-jose/go-jose/v4"

	"github.com/authdev/authdev/config"
)

// discovery serves OpenID Connect Discovery 1.0 (also under RFC 8414's
// name): what a certified client library reads to find everything else.
func (ep *issuerEP) discovery(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, oauthErr(ErrInvalidRequest, "discovery is read with GET"))
		return
	}
	iss := ep.issuer()
	e := endpointsOf(iss)
	alg := ep.env.keys.Load().active.alg
	authMethods := []string{"client_secret_basic", "client_secret_post", "none"}
	doc := map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         e.Authorization,
		"token_endpoint":                                 e.Token,
		"userinfo_endpoint":                              e.UserInfo,
		"jwks_uri":                                       e.JWKS,
		"introspection_endpoint":                         e.Introspection,
		"revocation_endpoint":                            e.Revocation,
		"end_session_endpoint":                           e.EndSession,
		"device_authorization_endpoint":                  e.DeviceAuthorization,
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode, GrantTokenExchange},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{string(alg)},
		"userinfo_signing_alg_values_supported":          []string{"none"},
		"token_endpoint_auth_methods_supported":          authMethods,
		"introspection_endpoint_auth_methods_supported":  authMethods,
		"revocation_endpoint_auth_methods_supported":     authMethods,
		"code_challenge_methods_supported":               []string{"S256"},
		"scopes_supported":                               []string{"openid", "profile", "email", "groups", "offline_access"},
		"claims_supported":                               claimsSupported(ep.env.flavor),
		"prompt_values_supported":                        []string{"none", "login"},
		"authorization_response_iss_parameter_supported": true,
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"frontchannel_logout_supported":                  false,
	}
	if ep.env.flavor == "entra" {
		doc["tenant_region_scope"] = "authdev"
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, doc)
}

func claimsSupported(flavor string) []string {
	c := []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "email", "email_verified", "name"}
	switch flavor {
	case "okta":
		c = append(c, "groups", "preferred_username")
	case "entra":
		c = append(c, "oid", "tid", "roles", "groups", "preferred_username", "ver")
	case "keycloak":
		c = append(c, "groups", "realm_access", "preferred_username")
	case "cognito":
		c = append(c, "cognito:groups", "cognito:username", "token_use")
	case "auth0":
		c = append(c, config.Auth0Namespace+"groups", config.Auth0Namespace+"roles", "nickname")
	default:
		c = append(c, "groups", "roles", "preferred_username")
	}
	return c
}

// jwks publishes the active key and the rotated-out keys still in grace.
func (ep *issuerEP) jwks(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, oauthErr(ErrInvalidRequest, "the JWKS is read with GET"))
		return
	}
	set := jose.JSONWebKeySet{}
	for _, k := range ep.env.keys.Load().published(ep.s.now(), ep.s.grace) {
		set.Keys = append(set.Keys, k.public)
	}
	// Short caching: relying parties must see a rotation within a minute.
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, set)
}
