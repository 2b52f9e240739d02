package mockidp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
)

// token is the token endpoint: one request parse, one function per grant.
func (ep *issuerEP) token(w http.ResponseWriter, r *http.Request) {
	ts, persona, e := ep.tokenGrant(r)
	// A device polling every few seconds is waiting, not refused.
	if e != nil && e.Code != ErrAuthorizationPending && e.Code != ErrSlowDown {
		ep.s.emit(audit.Event{Kind: audit.KindTokenRefused, Env: ep.env.cfg.Name, Persona: persona,
			Method: r.Method, Path: r.URL.Path, Status: e.Status, Message: e.Error()})
	}
	if e != nil {
		writeError(w, r, e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, ts)
}

func (ep *issuerEP) tokenGrant(r *http.Request) (TokenSet, string, *Error) {
	tr, e := parseTokenRequest(r)
	if e != nil {
		return TokenSet{}, "", e
	}
	if tr.grantType == "" {
		return TokenSet{}, "", oauthErr(ErrInvalidRequest, "missing grant_type")
	}
	if !slices.Contains(config.GrantTypes, tr.grantType) {
		return TokenSet{}, "", oauthErr(ErrUnsupportedGrantType, "grant_type %q is not supported: use authorization_code, refresh_token, client_credentials, device_code or token-exchange", tr.grantType)
	}
	c, e := ep.s.authenticateClient(tr)
	if e != nil {
		return TokenSet{}, "", e
	}
	if !c.allows(tr.grantType) {
		return TokenSet{}, "", oauthErr(ErrUnauthorizedClient, "client %q may not use grant %q: add it to the client's grants", c.id, tr.grantType)
	}
	switch tr.grantType {
	case config.GrantAuthorizationCode:
		return ep.grantCode(c, tr)
	case config.GrantRefreshToken:
		return ep.grantRefresh(c, tr)
	case config.GrantClientCredentials:
		return ep.grantClientCredentials(c, tr)
	case config.GrantDeviceCode:
		return ep.grantDevice(c, tr)
	default:
		return ep.grantExchange(c, tr)
	}
}

// authCode is an issued authorization code's grant.
type authCode struct {
	mu          sync.Mutex
	used        bool
	family      *family // of the tokens it was redeemed for
	clientID    string
	redirectURI string
	persona     string
	prefix      string
	scopes      []string
	audience    []string
	nonce       string
	challenge   string
	authTime    time.Time
	sid         string
}

func (ep *issuerEP) grantCode(c *client, tr tokenRequest) (TokenSet, string, *Error) {
	if tr.code == "" {
		return TokenSet{}, "", oauthErr(ErrInvalidRequest, "missing code")
	}
	ac, ok := ep.s.codes.Get(tr.code)
	if !ok || ac.prefix != ep.prefix {
		return TokenSet{}, "", oauthErr(ErrInvalidGrant, "code is unknown or expired (codes live %s): start the login again", codeTTL)
	}
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if ac.used {
		// A replayed code may be stolen: revoke what it bought (RFC 6749 §4.1.2).
		if ac.family != nil {
			ac.family.revoke()
		}
		return TokenSet{}, ac.persona, oauthErr(ErrInvalidGrant, "code was already used; the tokens issued for it are revoked")
	}
	switch {
	case ac.clientID != c.id:
		return TokenSet{}, ac.persona, oauthErr(ErrInvalidGrant, "code was issued to another client")
	case tr.redirectURI != ac.redirectURI:
		return TokenSet{}, ac.persona, oauthErr(ErrInvalidGrant, "redirect_uri %q differs from the one of the authorization request", tr.redirectURI)
	case ac.challenge == "" && tr.codeVerifier != "":
		return TokenSet{}, ac.persona, oauthErr(ErrInvalidGrant, "code_verifier sent but the authorization request had no code_challenge")
	case ac.challenge != "" && tr.codeVerifier == "":
		return TokenSet{}, ac.persona, oauthErr(ErrInvalidGrant, "missing code_verifier: the authorization request used PKCE")
	case ac.challenge != "" && !pkceMatches(tr.codeVerifier, ac.challenge):
		return TokenSet{}, ac.persona, oauthErr(ErrInvalidGrant, "code_verifier does not match the code_challenge")
	}
	ac.used = true
	ac.family = &family{}
	ts, e := ep.s.issue(issueRequest{
		ep: ep, client: c, persona: ac.persona, scopes: ac.scopes, audience: ac.audience,
		nonce: ac.nonce, authTime: ac.authTime, sid: ac.sid, refresh: true, family: ac.family,
	})
	return ts, ac.persona, e
}

// pkceMatches checks an S256 code verifier (RFC 7636 §4.6).
func pkceMatches(verifier, challenge string) bool {
	if !validPKCE(verifier) {
		return false
	}
	h := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(h[:])), []byte(challenge)) == 1
}

// validPKCE checks RFC 7636's form of verifiers and S256 challenges:
// 43 to 128 unreserved characters.
func validPKCE(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return false
		}
	}
	return true
}

func (ep *issuerEP) grantRefresh(c *client, tr tokenRequest) (TokenSet, string, *Error) {
	if tr.refreshToken == "" {
		return TokenSet{}, "", oauthErr(ErrInvalidRequest, "missing refresh_token")
	}
	rec, ok := ep.s.refresh.Get(tr.refreshToken)
	if !ok || rec.env != ep.env.cfg.Name {
		return TokenSet{}, "", oauthErr(ErrInvalidGrant, "refresh token is unknown, expired or revoked: log in again")
	}
	if rec.clientID != c.id {
		return TokenSet{}, rec.persona, oauthErr(ErrInvalidGrant, "refresh token was issued to another client")
	}
	scopes := rec.scopes
	if tr.scopeGiven {
		for _, sc := range tr.scopes {
			if !slices.Contains(rec.scopes, sc) {
				return TokenSet{}, rec.persona, oauthErr(ErrInvalidScope, "scope %q was not granted originally (granted: %q)", sc, strings.Join(rec.scopes, " "))
			}
		}
		scopes = tr.scopes
	}
	rec.family.mu.Lock()
	switch {
	case rec.family.revoked:
		rec.family.mu.Unlock()
		return TokenSet{}, rec.persona, oauthErr(ErrInvalidGrant, "refresh token is revoked: log in again")
	case rec.used:
		// Reuse of a rotated token means two parties hold it.
		rec.family.revoked = true
		rec.family.mu.Unlock()
		return TokenSet{}, rec.persona, oauthErr(ErrInvalidGrant, "refresh token was already used; every token of its family is now revoked: log in again")
	}
	rec.used = true
	rec.family.mu.Unlock()
	ts, e := ep.s.issue(issueRequest{
		ep: ep, client: c, persona: rec.persona, scopes: scopes, audience: rec.audience,
		authTime: rec.authTime, sid: rec.sid, refresh: true, family: rec.family,
	})
	return ts, rec.persona, e
}

func (ep *issuerEP) grantClientCredentials(c *client, tr tokenRequest) (TokenSet, string, *Error) {
	if c.public() {
		return TokenSet{}, "", oauthErr(ErrUnauthorizedClient, "client %q is public: client_credentials needs a confidential client", c.id)
	}
	ts, e := ep.s.issue(issueRequest{ep: ep, client: c, scopes: tr.scopes, audience: tr.audience})
	return ts, "", e
}
