package mockidp

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/flavor"
)

// TokenSet is what a grant returns.
type TokenSet struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	ExpiresIn    int64     `json:"expires_in"`
	Scope        string    `json:"scope,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"-"`
	// IssuedTokenType is set by token exchange (RFC 8693 §2.2.1).
	IssuedTokenType string `json:"issued_token_type,omitempty"`
}

// MintOptions tune Mint; the zero value asks for what `authdev token` gets.
type MintOptions struct {
	// ClientID is the client the tokens are issued to; default authdev-cli.
	ClientID string
	// Audience of the access token; default the client's, else the
	// environment's audience.
	Audience string
	// Scopes; default openid profile email.
	Scopes []string
	// Nonce goes into the ID token when set.
	Nonce string
	// Refresh also issues a refresh token usable at the token endpoint.
	Refresh bool
}

// Mint issues tokens for persona in env in-process, with the same claims as
// the authorization code grant: for tests and the TUI.
func (s *Server) Mint(persona, env string, o MintOptions) (TokenSet, error) {
	es, ok := s.envs[env]
	if !ok {
		return TokenSet{}, s.cfg.UnknownEnvironment(env)
	}
	if _, ok := s.cfg.Persona(persona); !ok {
		return TokenSet{}, s.cfg.UnknownPersona(persona)
	}
	if o.ClientID == "" {
		o.ClientID = config.CLIClientID
	}
	c, ok := s.clients[o.ClientID]
	if !ok {
		return TokenSet{}, fmt.Errorf("unknown client %q: register it under idp.clients", o.ClientID)
	}
	if o.Scopes == nil {
		o.Scopes = []string{"openid", "profile", "email"}
	}
	req := issueRequest{
		ep: es.ep, client: c, persona: persona, scopes: o.Scopes,
		nonce: o.Nonce, authTime: s.now(), refresh: o.Refresh,
	}
	if o.Audience != "" {
		req.audience = []string{o.Audience}
	}
	ts, e := s.issue(req)
	if e != nil {
		return TokenSet{}, e
	}
	return ts, nil
}

// issueRequest is what every grant settles before tokens are made.
type issueRequest struct {
	ep       *issuerEP
	client   *client
	persona  string // "" when the client acts for itself
	scopes   []string
	audience []string // default: the client's, else the environment's
	nonce    string
	authTime time.Time
	sid      string
	refresh  bool    // also issue a refresh token
	family   *family // the refresh family continued; nil starts one
	actor    map[string]any
	noID     bool // no ID token even with the openid scope
}

// family links a refresh token to the ones rotated from it, so reuse of any
// revokes them all (RFC 9700 §4.14.2).
type family struct {
	mu      sync.Mutex
	revoked bool
}

func (f *family) revoke() {
	f.mu.Lock()
	f.revoked = true
	f.mu.Unlock()
}

// refreshRecord is a refresh token's grant, so that refreshing reissues the
// same identity, scopes and audience.
type refreshRecord struct {
	family   *family
	used     bool // guarded by family.mu
	clientID string
	env      string
	prefix   string
	persona  string
	scopes   []string
	audience []string
	authTime time.Time
	sid      string
}

func (s *Server) issue(req issueRequest) (TokenSet, *Error) {
	es := req.ep.env
	now := s.now()
	ttl := s.tokenTTL()
	exp := now.Add(ttl)
	var id config.Identity
	if req.persona != "" {
		var ok bool
		if id, ok = s.cfg.IdentityIn(req.persona, es.cfg.Name); !ok {
			return TokenSet{}, oauthErr(ErrInvalidGrant, "persona %q is no longer in the configuration", req.persona)
		}
	}
	jti, err := s.randomString(16)
	if err != nil {
		return TokenSet{}, oauthErr(ErrServerError, "read randomness: %v", err)
	}
	keys := es.keys.Load()
	base := flavor.Token{Env: es.cfg, Issuer: req.ep.issuer(), User: id, ClientID: req.client.id,
		ClientRoles: req.client.roles, Scopes: req.scopes, Grant: jti}
	ts := TokenSet{TokenType: "Bearer", ExpiresIn: int64(ttl / time.Second), Scope: strings.Join(req.scopes, " "), Expiry: exp}
	at := s.accessClaims(req, base, now, exp)
	if ts.AccessToken, err = s.sign(keys.active, es.flavor.AccessTokenType(es.cfg), at); err != nil {
		return TokenSet{}, oauthErr(ErrServerError, "sign the access token: %v", err)
	}
	if req.persona != "" && !req.noID && slices.Contains(req.scopes, "openid") {
		idt := s.idClaims(req, base, now, exp, ts.AccessToken)
		if ts.IDToken, err = s.sign(keys.active, "JWT", idt); err != nil {
			return TokenSet{}, oauthErr(ErrServerError, "sign the ID token: %v", err)
		}
	}
	if req.refresh && req.client.allows(config.GrantRefreshToken) {
		if ts.RefreshToken, err = s.newRefreshToken(req); err != nil {
			return TokenSet{}, oauthErr(ErrServerError, "read randomness: %v", err)
		}
	}
	return ts, nil
}

// accessClaims are the access token's: the protocol claims every flavor
// starts from, then the flavor's shape.
func (s *Server) accessClaims(req issueRequest, t flavor.Token, now, exp time.Time) map[string]any {
	es := req.ep.env
	aud := req.audience
	if len(aud) == 0 {
		aud = []string{cmp.Or(req.client.audience, es.cfg.Audience)}
	}
	c := map[string]any{
		"iss": t.Issuer, "aud": audClaim(aud), "exp": exp.Unix(), "iat": now.Unix(), "nbf": now.Unix(),
		"jti": t.Grant, "client_id": req.client.id, "sub": req.client.id,
	}
	if len(req.scopes) > 0 {
		c["scope"] = strings.Join(req.scopes, " ")
	}
	t.Kind = flavor.ClientAccess
	if req.persona != "" {
		t.Kind = flavor.UserAccess
		c["sub"] = es.flavor.Subject(es.cfg, req.persona)
		c["auth_time"] = req.authTime.Unix()
		if req.sid != "" {
			c["sid"] = req.sid
		}
	}
	t.Claims = c
	es.flavor.Shape(&t)
	if req.actor != nil {
		c["act"] = req.actor
	}
	return c
}

// idClaims are the ID token's (OIDC Core §2), then the flavor's shape.
// Every ID token carries at_hash: it is also how this IdP tells its ID
// tokens from its access tokens, whose typ headers vary by flavor.
func (s *Server) idClaims(req issueRequest, t flavor.Token, now, exp time.Time, accessToken string) map[string]any {
	es := req.ep.env
	c := map[string]any{
		"iss": t.Issuer, "sub": es.flavor.Subject(es.cfg, req.persona), "aud": req.client.id, "azp": req.client.id,
		"exp": exp.Unix(), "iat": now.Unix(), "auth_time": req.authTime.Unix(), "at_hash": leftHalfHash(accessToken),
	}
	if req.nonce != "" {
		c["nonce"] = req.nonce
	}
	if req.sid != "" {
		c["sid"] = req.sid
	}
	t.Kind, t.Claims = flavor.IDToken, c
	es.flavor.Shape(&t)
	return c
}

// newRefreshToken stores the grant behind a new refresh token, in the
// family req continues or a new one.
func (s *Server) newRefreshToken(req issueRequest) (string, error) {
	rt, err := s.randomString(32)
	if err != nil {
		return "", err
	}
	fam := req.family
	if fam == nil {
		fam = &family{}
	}
	s.refresh.Put(rt, &refreshRecord{
		family: fam, clientID: req.client.id, env: req.ep.env.cfg.Name, prefix: req.ep.prefix,
		persona: req.persona, scopes: req.scopes, audience: req.audience,
		authTime: req.authTime, sid: req.sid,
	})
	return rt, nil
}

// sign serialises claims and signs them with k, with typ as the JOSE
// header's typ ("" for none). Concurrent signatures are
// bounded (see Server.signing).
func (s *Server) sign(k *signingKey, typ string, claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signer := k.signers[typ]
	s.signing <- struct{}{}
	jws, err := signer.Sign(payload)
	<-s.signing
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// audClaim writes a single audience as a string, as most IdPs do.
func audClaim(aud []string) any {
	if len(aud) == 1 {
		return aud[0]
	}
	return aud
}

func (s *Server) randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// verified is a token this server issued, checked.
type verified struct {
	claims map[string]any
	access bool // not an ID token
}

var (
	errNotOurs = errors.New("token was not issued by this environment")
	errRevoked = errors.New("token was revoked")
)

// verify checks a JWT against env's published keys and issuers. Expired
// tokens fail unless allowExpired (id_token_hint may be expired).
func (ep *issuerEP) verify(raw string, allowExpired bool) (verified, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return verified{}, fmt.Errorf("not a signed JWT: %w", err)
	}
	if len(tok.Headers) != 1 {
		return verified{}, errNotOurs
	}
	h := tok.Headers[0]
	var key *signingKey
	for _, k := range ep.env.keys.Load().published(ep.s.now(), ep.s.grace) {
		if k.kid == h.KeyID && string(k.alg) == h.Algorithm {
			key = k
		}
	}
	if key == nil {
		return verified{}, fmt.Errorf("signed by unknown key %q: %w", h.KeyID, errNotOurs)
	}
	var claims map[string]any
	if err := tok.Claims(key.public.Key, &claims); err != nil {
		return verified{}, fmt.Errorf("bad signature: %w", err)
	}
	if iss, _ := claims["iss"].(string); iss != ep.issuer() {
		return verified{}, fmt.Errorf("issuer %q: %w", iss, errNotOurs)
	}
	exp, _ := claims["exp"].(float64)
	if !allowExpired && !ep.s.now().Before(time.Unix(int64(exp), 0)) {
		return verified{}, errors.New("token expired")
	}
	_, isID := claims["at_hash"]
	return verified{claims: claims, access: !isID}, nil
}

// audiences reads the aud claim, a string or a list.
func audiences(claims map[string]any) []string {
	return stringList(claims["aud"], func(s string) []string { return []string{s} })
}

// stringList reads a claim that is one string (split into its items) or a
// list of strings.
func stringList(v any, split func(string) []string) []string {
	switch v := v.(type) {
	case string:
		return split(v)
	case []any:
		var out []string
		for _, item := range v {
			if s, ok := item.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
