package mockidp

import (
	"net/http"

	"github.com/go-jose/go-jose/v4"

	"github.com/authdev/authdev/config"
)

// What the handlers accept, listed once so that discovery says exactly
// what is served (a test derives its check from the handlers).
var (
	// clientAuthMethods are how the token endpoint authenticates clients;
	// public clients send their client_id alone.
	clientAuthMethods = []string{"client_secret_basic", "client_secret_post", "none"}
	// callerAuthMethods are how introspection and revocation callers
	// authenticate: RFC 7662 §2.1 requires it of introspection, so there
	// is no "none".
	confidentialAuthMethods = []string{"client_secret_basic", "client_secret_post"}
	// promptValues are the prompt values authorize accepts.
	promptValues = []string{"none", "login", "consent", "select_account"}
	scopes       = []string{"openid", "profile", "email", "groups", "offline_access"}
)

// discovery serves OpenID Connect Discovery 1.0 (also under RFC 8414's
// name): what a certified client library reads to find everything else.
func (ep *issuerEP) discovery(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, oauthErr(ErrInvalidRequest, "discovery is read with GET"))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, ep.metadata())
}

// metadata is the discovery document. Userinfo answers plain JSON, so no
// userinfo_signing_alg_values_supported.
func (ep *issuerEP) metadata() map[string]any {
	e := ep.endpoints()
	alg := ep.env.keys.Load().active.alg
	return map[string]any{
		"issuer":                                         e.Issuer,
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
		"grant_types_supported":                          config.GrantTypes,
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []jose.SignatureAlgorithm{alg},
		"token_endpoint_auth_methods_supported":          clientAuthMethods,
		"introspection_endpoint_auth_methods_supported":  confidentialAuthMethods,
		"revocation_endpoint_auth_methods_supported":     clientAuthMethods,
		"code_challenge_methods_supported":               []string{"S256"},
		"scopes_supported":                               scopes,
		"claims_supported":                               ep.env.flavor.ClaimsSupported,
		"prompt_values_supported":                        promptValues,
		"authorization_response_iss_parameter_supported": true,
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"frontchannel_logout_supported":                  false,
	}
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
