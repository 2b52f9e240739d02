package oidcgrant

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// DefaultRedirectURI is the loopback redirect of native clients (RFC 8252
// §7.3). It is never dialled: the code is read from the Location header.
const DefaultRedirectURI = "http://127.0.0.1/authdev/callback"

// Request says which token to get.
type Request struct {
	// Issuer is the environment's issuer URL; discovery happens under it.
	Issuer string
	// ClientID and ClientSecret identify the client ("" secret: public).
	ClientID     string
	ClientSecret string
	// RedirectURI is a redirect URI registered for the client; default
	// DefaultRedirectURI, which the IdP's public CLI client accepts.
	RedirectURI string
	// Persona is sent as login_hint: who logs in.
	Persona string
	// Audience, when set, asks for an access token for that audience.
	Audience string
	// Scopes default to openid, profile, email and offline_access.
	Scopes []string
	// HTTPClient talks to the IdP; default a client with a 15 s timeout.
	HTTPClient *http.Client
}

// Tokens is what the token endpoint answered.
type Tokens struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	IDToken      string    `json:"id_token,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Scope        string    `json:"scope,omitempty"`
	Expiry       time.Time `json:"expiry"`
}

// Discover fetches the issuer's discovery document and returns its
// authorization and token endpoints.
func Discover(ctx context.Context, client *http.Client, issuer string) (oauth2.Endpoint, error) {
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, orDefault(client)), issuer)
	if err != nil {
		return oauth2.Endpoint{}, fmt.Errorf("OIDC discovery at %s failed: %w: is the IdP running?", issuer, err)
	}
	return p.Endpoint(), nil
}

// Code runs the authorization code grant with PKCE for r.Persona.
func Code(ctx context.Context, r Request) (Tokens, error) {
	ep, err := Discover(ctx, r.HTTPClient, r.Issuer)
	if err != nil {
		return Tokens{}, err
	}
	return CodeAt(ctx, ep, r)
}

// CodeAt is Code against endpoints already discovered.
func CodeAt(ctx context.Context, ep oauth2.Endpoint, r Request) (Tokens, error) {
	client := orDefault(r.HTTPClient)
	if r.RedirectURI == "" {
		r.RedirectURI = DefaultRedirectURI
	}
	if len(r.Scopes) == 0 {
		r.Scopes = []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}
	}
	conf := oauth2.Config{ClientID: r.ClientID, ClientSecret: r.ClientSecret, Endpoint: ep,
		RedirectURL: r.RedirectURI, Scopes: r.Scopes}
	verifier, state, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce),
		oauth2.SetAuthURLParam("login_hint", r.Persona)}
	if r.Audience != "" {
		opts = append(opts, oauth2.SetAuthURLParam("audience", r.Audience))
	}
	authURL := conf.AuthCodeURL(state, opts...)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return Tokens{}, err
	}
	noFollow := *client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Do(req)
	if err != nil {
		return Tokens{}, fmt.Errorf("authorization request to %s: %w", ep.AuthURL, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, r.RedirectURI) {
		if hint := PageHint(body); hint != "" && resp.StatusCode >= 400 {
			return Tokens{}, fmt.Errorf("the IdP refused to log %q in for client %q (%s): %s", r.Persona, r.ClientID, resp.Status, hint)
		}
		return Tokens{}, fmt.Errorf("the IdP did not log %q in silently (answered %s): is %q a persona of this config, and %q a client that may use the code flow?",
			r.Persona, resp.Status, r.Persona, r.ClientID)
	}
	u, err := url.Parse(loc)
	if err != nil {
		return Tokens{}, fmt.Errorf("the IdP redirected to an unreadable URL %q: %w", loc, err)
	}
	q := u.Query()
	if e := q.Get("error"); e != "" {
		return Tokens{}, fmt.Errorf("the IdP refused the login: %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state || q.Get("code") == "" {
		return Tokens{}, errors.New("the IdP's redirect lacks the code or carries another state")
	}
	tok, err := conf.Exchange(oidc.ClientContext(ctx, client), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return Tokens{}, fmt.Errorf("exchanging the code at %s: %w", ep.TokenURL, err)
	}
	out := Tokens{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}
	out.IDToken, _ = tok.Extra("id_token").(string)
	out.Scope, _ = tok.Extra("scope").(string)
	return out, nil
}

// PageHint is the message of an IdP page: the text of its first <p>.
func PageHint(body []byte) string {
	if m := paraRE.FindSubmatch(body); m != nil {
		return strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(string(m[1]), "")))
	}
	return ""
}

var (
	paraRE = regexp.MustCompile(`(?s)<p[^>]*>(.*?)</p>`)
	tagRE  = regexp.MustCompile(`<[^>]+>`)
)

func orDefault(c *http.Client) *http.Client {
	if c == nil {
		return &http.Client{Timeout: 15 * time.Second}
	}
	return c
}
