package mockidp

import (
	"slices"
	"strings"
	"time"
)

// Token type identifiers of RFC 8693 §3.
const (
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
)

// grantExchange is RFC 8693 token exchange: a persona's token from this
// environment becomes an access token for another audience, carrying the
// actor in `act` when one is given (delegation).
//
// The subject token must be meant for the exchanging client (its aud names
// the client, the client's audience or the environment's audience), and the
// requested audience must be one this IdP knows: the environment's, a
// client's audience or a client id.
func (ep *issuerEP) grantExchange(c *client, tr tokenRequest) (TokenSet, string, *Error) {
	jwtTypes := []string{TokenTypeAccessToken, TokenTypeIDToken, TokenTypeJWT}
	switch {
	case tr.subjectToken == "":
		return TokenSet{}, "", oauthErr(ErrInvalidRequest, "missing subject_token")
	case !slices.Contains(jwtTypes, tr.subjectTokenType):
		return TokenSet{}, "", oauthErr(ErrInvalidRequest, "subject_token_type %q is not one of %s", tr.subjectTokenType, strings.Join(jwtTypes, ", "))
	case tr.requestedTokenType != "" && tr.requestedTokenType != TokenTypeAccessToken && tr.requestedTokenType != TokenTypeJWT:
		return TokenSet{}, "", oauthErr(ErrInvalidRequest, "requested_token_type %q is not supported: ask for %s", tr.requestedTokenType, TokenTypeAccessToken)
	case tr.actorToken != "" && !slices.Contains(jwtTypes, tr.actorTokenType):
		return TokenSet{}, "", oauthErr(ErrInvalidRequest, "actor_token_type %q is not one of %s", tr.actorTokenType, strings.Join(jwtTypes, ", "))
	}
	v, err := ep.verify(tr.subjectToken, false)
	if err == nil && ep.s.isRevoked(v.claims) {
		err = errRevoked
	}
	if err != nil {
		return TokenSet{}, "", oauthErr(ErrInvalidGrant, "subject_token refused: %v", err)
	}
	persona, ok := ep.personaOf(v.claims)
	if !ok {
		return TokenSet{}, "", oauthErr(ErrInvalidGrant, "subject_token is not a persona's token")
	}
	subjectAud := audiences(v.claims)
	if !slices.ContainsFunc(subjectAud, func(a string) bool {
		return a == c.id || a == ep.env.cfg.Audience || (c.audience != "" && a == c.audience)
	}) {
		return TokenSet{}, persona, oauthErr(ErrInvalidGrant, "subject_token was issued for audience %q, not for client %q", strings.Join(subjectAud, " "), c.id)
	}
	for _, a := range tr.audience {
		if !ep.s.knownAudience(ep.env, a) {
			return TokenSet{}, persona, oauthErr(ErrInvalidTarget, "audience %q is unknown to this IdP: use the environment's audience %q, a client's audience or a client id", a, ep.env.cfg.Audience)
		}
	}
	granted := scopesOf(v.claims)
	if !v.access {
		granted = []string{"openid", "profile", "email"}
	}
	scopes := granted
	if tr.scopeGiven {
		for _, sc := range tr.scopes {
			if !slices.Contains(granted, sc) {
				return TokenSet{}, persona, oauthErr(ErrInvalidScope, "scope %q exceeds the subject token's %q", sc, strings.Join(granted, " "))
			}
		}
		scopes = tr.scopes
	}
	req := issueRequest{ep: ep, client: c, persona: persona, scopes: scopes, audience: tr.audience, noID: true}
	if at, ok := v.claims["auth_time"].(float64); ok {
		req.authTime = time.Unix(int64(at), 0)
	} else {
		req.authTime = ep.s.now()
	}
	if tr.actorToken != "" {
		av, err := ep.verify(tr.actorToken, false)
		if err != nil {
			return TokenSet{}, persona, oauthErr(ErrInvalidGrant, "actor_token refused: %v", err)
		}
		req.actor = map[string]any{"sub": av.claims["sub"]}
		if cid, ok := av.claims["client_id"]; ok {
			req.actor["client_id"] = cid
		}
	}
	ts, e := ep.s.issue(req)
	ts.IssuedTokenType = TokenTypeAccessToken
	return ts, persona, e
}

// knownAudience reports whether a is an audience this IdP issues for.
func (s *Server) knownAudience(es *envState, a string) bool {
	if a == es.cfg.Audience {
		return true
	}
	for _, c := range s.clients {
		if a == c.id || a == c.audience {
			return true
		}
	}
	return false
}

// scopesOf reads the scopes of an access token, wherever and however its
// flavor writes them: scope (a string), or scp (a string or a list).
func scopesOf(claims map[string]any) []string {
	if v, ok := claims["scope"]; ok {
		return stringList(v, strings.Fields)
	}
	return stringList(claims["scp"], strings.Fields)
}
