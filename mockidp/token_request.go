package mockidp

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/authdev/authdev/config"
)

// maxFormBytes bounds a form body: token requests are a few hundred bytes.
const maxFormBytes = 64 << 10

// tokenRequest is a token, introspection or revocation request parsed
// once: the client's credentials and every parameter a grant may read.
type tokenRequest struct {
	grantType config.GrantType

	clientID     string
	clientSecret string
	basic        bool // credentials came in the Authorization header
	// rawID and rawSecret are the Basic credentials as sent, before form
	// decoding: curl -u, requests and authlib do not form-encode them.
	rawID, rawSecret string

	scopes     []string
	scopeGiven bool
	audience   []string // RFC 8693 audience and RFC 8707 resource

	code         string
	redirectURI  string
	codeVerifier string
	refreshToken string
	deviceCode   string

	subjectToken       string
	subjectTokenType   string
	actorToken         string
	actorTokenType     string
	requestedTokenType string

	token         string // introspection and revocation
	tokenTypeHint string
}

// multiValued may repeat; RFC 6749 §3.2 forbids repeating anything else.
var multiValued = map[string]bool{"audience": true, "resource": true}

// parseTokenRequest reads a form-encoded POST and the client's credentials
// from either HTTP Basic or the body, never both (RFC 6749 §2.3.1).
func parseTokenRequest(r *http.Request) (tokenRequest, *Error) {
	if r.Method != http.MethodPost {
		return tokenRequest{}, oauthErr(ErrInvalidRequest, "use POST, not %s", r.Method)
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		return tokenRequest{}, oauthErr(ErrInvalidRequest, "send the parameters as application/x-www-form-urlencoded, not %q", r.Header.Get("Content-Type"))
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tokenRequest{}, oauthErr(ErrInvalidRequest, "request body over %d bytes", maxFormBytes)
		}
		return tokenRequest{}, oauthErr(ErrInvalidRequest, "malformed form body: %v", err)
	}
	if len(r.URL.RawQuery) > 0 && r.URL.Query().Has("client_secret") {
		return tokenRequest{}, oauthErr(ErrInvalidRequest, "client_secret in the URL query: send it in the body or with HTTP Basic")
	}
	return parseTokenForm(r.PostForm, r.Header.Get("Authorization"))
}

// parseTokenForm is the pure half of parseTokenRequest, for the fuzzer.
func parseTokenForm(form url.Values, authorization string) (tokenRequest, *Error) {
	for k, v := range form {
		if len(v) > 1 && !multiValued[k] {
			return tokenRequest{}, oauthErr(ErrInvalidRequest, "parameter %q is repeated", k)
		}
	}
	one := form.Get
	tr := tokenRequest{
		grantType:          config.GrantType(one("grant_type")),
		code:               one("code"),
		redirectURI:        one("redirect_uri"),
		codeVerifier:       one("code_verifier"),
		refreshToken:       one("refresh_token"),
		deviceCode:         one("device_code"),
		subjectToken:       one("subject_token"),
		subjectTokenType:   one("subject_token_type"),
		actorToken:         one("actor_token"),
		actorTokenType:     one("actor_token_type"),
		requestedTokenType: one("requested_token_type"),
		token:              one("token"),
		tokenTypeHint:      one("token_type_hint"),
	}
	if form.Has("scope") {
		tr.scopeGiven = true
		tr.scopes = strings.Fields(one("scope"))
	}
	for _, a := range append(form["audience"], form["resource"]...) {
		if a != "" {
			tr.audience = append(tr.audience, a)
		}
	}
	if authorization != "" {
		id, secret, rawID, rawSecret, ok := parseBasic(authorization)
		if !ok {
			return tokenRequest{}, oauthErr(ErrInvalidClient, "the Authorization header is not valid HTTP Basic with URL-encoded client_id:client_secret")
		}
		if form.Has("client_secret") {
			return tokenRequest{}, oauthErr(ErrInvalidRequest, "client credentials both in the Authorization header and in the body: use one method")
		}
		if form.Has("client_id") && one("client_id") != id {
			return tokenRequest{}, oauthErr(ErrInvalidRequest, "client_id in the body differs from the Authorization header")
		}
		tr.clientID, tr.clientSecret, tr.basic = id, secret, true
		tr.rawID, tr.rawSecret = rawID, rawSecret
	} else {
		tr.clientID, tr.clientSecret = one("client_id"), one("client_secret")
	}
	return tr, nil
}

// parseBasic reads HTTP Basic credentials. RFC 6749 §2.3.1 form-encodes
// the id and secret before Basic encoding them, so they are decoded again;
// what cannot be decoded (a lone %) was sent raw and is kept as sent.
func parseBasic(h string) (id, secret, rawID, rawSecret string, ok bool) {
	r := http.Request{Header: http.Header{"Authorization": {h}}}
	rawID, rawSecret, ok = r.BasicAuth()
	if !ok || rawID == "" {
		return "", "", "", "", false
	}
	id, secret = formDecoded(rawID), formDecoded(rawSecret)
	return id, secret, rawID, rawSecret, true
}

func formDecoded(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// authenticateClient finds the client and checks its credentials. A public
// client identifies itself with client_id alone.
func (s *Server) authenticateClient(tr tokenRequest) (*client, *Error) {
	if tr.clientID == "" {
		return nil, oauthErr(ErrInvalidClient, "no client_id: authenticate with HTTP Basic or send client_id")
	}
	c, ok := s.clients[tr.clientID]
	if !ok && tr.basic {
		c, ok = s.clients[tr.rawID]
	}
	if !ok {
		return nil, oauthErr(ErrInvalidClient, "unknown client %q: register it under idp.clients in authdev.yaml", tr.clientID)
	}
	if c.public() && tr.clientSecret != "" {
		return nil, oauthErr(ErrInvalidClient, "client %q is public and has no secret: send client_id only", c.id)
	}
	if !c.public() && tr.clientSecret == "" {
		return nil, oauthErr(ErrInvalidClient, "client %q is confidential: authenticate with its secret", c.id)
	}
	if !c.authenticate(tr.clientSecret) && !(tr.basic && !c.public() && c.authenticate(tr.rawSecret)) {
		return nil, oauthErr(ErrInvalidClient, "wrong secret for client %q", c.id)
	}
	return c, nil
}
