package mockidp

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/authdev/authdev/internal/flavor"
)

// userinfo returns the persona's claims for an access token (OIDC Core
// §5.3), from the Authorization header or, per RFC 6750 §2.2, a form body.
func (ep *issuerEP) userinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		bearerError(w, http.StatusMethodNotAllowed, oauthErr(ErrInvalidRequest, "use GET or POST"))
		return
	}
	raw, e := bearerToken(r)
	if e != nil {
		bearerError(w, e.Status, e)
		return
	}
	v, err := ep.verify(raw, false)
	if err == nil && !v.access {
		err = fmt.Errorf("an ID token is not an access token")
	}
	if err == nil && ep.s.isRevoked(v.claims) {
		err = fmt.Errorf("token was revoked")
	}
	if err != nil {
		bearerError(w, http.StatusUnauthorized, oauthErr(ErrInvalidToken, "access token refused: %v", err))
		return
	}
	persona, ok := ep.personaOf(v.claims)
	if !ok {
		bearerError(w, http.StatusUnauthorized, oauthErr(ErrInvalidToken, "the token was issued to a client for itself; userinfo needs a persona's token"))
		return
	}
	id, _ := ep.s.cfg.IdentityIn(persona, ep.env.cfg.Name)
	claims := map[string]any{"sub": ep.env.flavor.Subject(ep.env.cfg, persona)}
	ep.env.flavor.Shape(&flavor.Token{Kind: flavor.UserInfo, Env: ep.env.cfg, Issuer: ep.issuer(), User: id, Claims: claims})
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, claims)
}

// personaOf finds the persona whose token this is: subjects are derived
// from persona and environment, so the persona list is the directory.
// Okta's access tokens carry the user's id in uid and the login in sub.
func (ep *issuerEP) personaOf(claims map[string]any) (string, bool) {
	sub, _ := claims["uid"].(string)
	if sub == "" {
		sub, _ = claims["sub"].(string)
	}
	if sub == "" {
		return "", false
	}
	for _, p := range ep.s.cfg.Personas {
		if ep.env.flavor.Subject(ep.env.cfg, p.ID) == sub {
			return p.ID, true
		}
	}
	return "", false
}

func bearerToken(r *http.Request) (string, *Error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return "", oauthErr(ErrInvalidRequest, "the Authorization header must be `Bearer <access token>`")
		}
		return strings.TrimSpace(tok), nil
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
		if err := r.ParseForm(); err == nil && r.PostForm.Get("access_token") != "" {
			return r.PostForm.Get("access_token"), nil
		}
	}
	e := oauthErr(ErrInvalidToken, "no access token: send Authorization: Bearer <token>")
	e.Status = http.StatusUnauthorized
	return "", e
}

// bearerError answers as RFC 6750 §3 asks: the error in WWW-Authenticate
// as well as in the body.
func bearerError(w http.ResponseWriter, status int, e *Error) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="authdev", error=%q, error_description=%q`,
		e.Code, strings.ReplaceAll(e.Description, `"`, "'")))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, e)
}

// isRevoked reports whether an access token's jti was revoked.
func (s *Server) isRevoked(claims map[string]any) bool {
	jti, _ := claims["jti"].(string)
	if jti == "" {
		return false
	}
	_, ok := s.revoked.Get(jti)
	return ok
}
