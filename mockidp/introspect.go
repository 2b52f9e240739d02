package mockidp

import (
	"net/http"
	"slices"
	"strings"
)

// introspect is RFC 7662 token introspection for authenticated clients:
// access tokens are checked by signature, refresh tokens by lookup. A
// public client cannot authenticate, so it may not introspect (§2.1):
// anyone holding a client id would read other clients' tokens.
func (ep *issuerEP) introspect(w http.ResponseWriter, r *http.Request) {
	tr, e := parseTokenRequest(r)
	var c *client
	if e == nil {
		c, e = ep.s.authenticateClient(tr)
	}
	if e == nil && c.public() {
		e = oauthErr(ErrInvalidClient, "client %q is public: introspection needs a confidential client's credentials (RFC 7662 §2.1)", c.id)
	}
	if e == nil && tr.token == "" {
		e = oauthErr(ErrInvalidRequest, "missing token")
	}
	if e != nil {
		writeError(w, r, e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if tr.tokenTypeHint != "refresh_token" || !strings.Contains(tr.token, ".") {
		if v, err := ep.verify(tr.token, false); err == nil && !ep.s.isRevoked(v.claims) {
			out := map[string]any{"active": true, "token_type": "Bearer"}
			if !v.access {
				out["token_type"] = "id_token"
			}
			for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "auth_time"} {
				if val, ok := v.claims[k]; ok {
					out[k] = val
				}
			}
			out["client_id"] = clientOf(v.claims)
			if persona, ok := ep.personaOf(v.claims); ok {
				out["username"] = persona
			}
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	if rec, ok := ep.s.refresh.Get(tr.token); ok && rec.env == ep.env.cfg.Name {
		rec.family.mu.Lock()
		active := !rec.family.revoked && !rec.used
		rec.family.mu.Unlock()
		if active {
			out := map[string]any{"active": true, "token_type": "refresh_token", "client_id": rec.clientID,
				"iss": ep.issuer(), "scope": strings.Join(rec.scopes, " ")}
			if rec.persona != "" {
				out["username"] = rec.persona
				out["sub"] = ep.env.flavor.Subject(ep.env.cfg, rec.persona)
			}
			if len(rec.audience) > 0 {
				out["aud"] = audClaim(rec.audience)
			}
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"active": false})
}

// revoke is RFC 7009 revocation. Revoking a refresh token revokes its whole
// family; revoking an access token blocks its jti at this IdP's userinfo
// and introspection until it expires (relying parties verifying the JWT
// themselves cannot learn of it, as with any self-contained token).
func (ep *issuerEP) revoke(w http.ResponseWriter, r *http.Request) {
	tr, e := parseTokenRequest(r)
	var c *client
	if e == nil {
		c, e = ep.s.authenticateClient(tr)
	}
	if e == nil && tr.token == "" {
		e = oauthErr(ErrInvalidRequest, "missing token")
	}
	if e == nil && tr.tokenTypeHint != "" && !slices.Contains([]string{"access_token", "refresh_token"}, tr.tokenTypeHint) {
		e = oauthErr(ErrUnsupportedTokenType, "token_type_hint %q is not access_token or refresh_token", tr.tokenTypeHint)
	}
	if e != nil {
		writeError(w, r, e)
		return
	}
	if rec, ok := ep.s.refresh.Get(tr.token); ok && rec.env == ep.env.cfg.Name {
		if rec.clientID != c.id {
			writeError(w, r, oauthErr(ErrUnauthorizedClient, "the token was issued to another client"))
			return
		}
		rec.family.revoke()
	} else if v, err := ep.verify(tr.token, false); err == nil && v.access {
		if clientOf(v.claims) != c.id {
			writeError(w, r, oauthErr(ErrUnauthorizedClient, "the token was issued to another client"))
			return
		}
		if jti, _ := v.claims["jti"].(string); jti != "" {
			ep.s.revoked.Put(jti, struct{}{})
		}
	}
	// Unknown and already invalid tokens answer 200 too (RFC 7009 §2.2).
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// clientOf is the client an access token was issued to, wherever the
// flavor names it.
func clientOf(claims map[string]any) string {
	for _, k := range []string{"client_id", "cid", "azp"} {
		if v, _ := claims[k].(string); v != "" {
			return v
		}
	}
	return ""
}
