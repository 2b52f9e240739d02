package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/oidcgrant"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/mockidp"
)

// TokenOptions are the inputs of `authdev token`.
type TokenOptions struct {
	Deps

	As       string
	Env      string
	Audience string
	Scope    string
	Client   string
	IDToken  bool
	JSON     bool
	Decode   bool

	// HTTPClient reaches a running IdP; default a 15 s client.
	HTTPClient *http.Client
}

// NewCmdToken builds `authdev token`.
func NewCmdToken(f *Factory, runF func(context.Context, *TokenOptions) error) *cobra.Command {
	opts := &TokenOptions{Deps: f.deps()}
	cmd := longRunning(&cobra.Command{
		Use:   "token --as PERSONA",
		Short: "Get a token for a persona from the IdP; only the token goes to stdout",
		Long: `Get a token for a persona through a real grant: the authorization code flow
with PKCE and login_hint, as the IdP's built-in public client authdev-cli (or
--client), against the IdP of the config when one runs (idp.listen), or else
against an in-process IdP with the same state store — the same signing keys,
so the token verifies at the IdP and the proxy later.

Without --env the token is for the active environment of the running
` + "`authdev up`" + ` (asked through its control endpoint, same --state), which is
the one its proxy accepts, or else for the config's first environment;
stderr says which.

Only the token goes to stdout, so $(authdev token --as alice) works in
scripts; --json prints the access, ID and refresh tokens with their expiry;
--decode prints the token's claims instead.`,
		Example: `  curl -H "Authorization: Bearer $(authdev token --as alice)" https://127.0.0.1:8443/api
  authdev token --as bob --env prod --decode
  authdev token --as carol --aud reports-api --json`,
	}, opts, runF, tokenRun)
	fl := cmd.Flags()
	fl.StringVar(&opts.As, "as", "", "the persona who logs in (required)")
	fl.StringVar(&opts.Env, "env", "", "environment, i.e. issuer (default the active one of a running authdev up, else the first in the config)")
	fl.StringVar(&opts.Audience, "aud", "", "audience of the access token (default the environment's audience)")
	fl.StringVar(&opts.Scope, "scope", "", "scopes to ask for, space-separated (openid is always added; default \"openid profile email offline_access\")")
	fl.StringVar(&opts.Client, "client", config.CLIClientID, "client to log in as: the built-in public client, or one of idp.clients")
	fl.BoolVar(&opts.IDToken, "id-token", false, "print the ID token instead of the access token")
	fl.BoolVar(&opts.JSON, "json", false, "print access, ID and refresh tokens with their expiry as JSON")
	fl.BoolVar(&opts.Decode, "decode", false, "print the token's claims (with --json: of every token)")
	return cmd
}

func tokenRun(ctx context.Context, opts *TokenOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	if opts.As == "" {
		return usageErrorf("--as is required: name a persona, one of %s", strings.Join(cfg.PersonaIDs(), ", "))
	}
	if _, ok := cfg.Persona(opts.As); !ok {
		return &UsageError{Err: cfg.UnknownPersona(opts.As)}
	}
	env, why, err := tokenEnv(ctx, opts, cfg)
	if err != nil {
		return err
	}
	req, err := tokenRequest(opts, cfg)
	if err != nil {
		return err
	}
	base, err := stack.IdPBaseURL(cfg)
	if err != nil {
		return err
	}
	req.Issuer = mockidp.IssuerOf(base, cfg, env)
	if req.HTTPClient, err = tokenClient(ctx, opts, cfg, base, req.Issuer); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "authdev token: %s in %s (%s), issuer %s\n", opts.As, env, why, req.Issuer)
	tok, err := oidcgrant.Code(ctx, req)
	if err != nil {
		return err
	}
	return printTokens(opts, tok)
}

// tokenEnv is the environment the token is for, and why: --env, else the
// active environment of an `authdev up` of this config (its proxy accepts
// only tokens of that environment's issuer), else the config's first.
func tokenEnv(ctx context.Context, opts *TokenOptions, cfg *config.Config) (env, why string, err error) {
	if opts.Env != "" {
		if _, ok := cfg.Environment(opts.Env); !ok {
			return "", "", &UsageError{Err: cfg.UnknownEnvironment(opts.Env)}
		}
		return opts.Env, "--env", nil
	}
	store, err := opts.State()
	if err != nil {
		return "", "", err
	}
	if up, ok := findRunningUp(ctx, cfg, store); ok {
		return up.Active.Env, "the active environment of authdev up at " + up.ProxyURL, nil
	}
	return cfg.DefaultEnvironment(), "the first environment; --env picks another", nil
}

// tokenRequest is the grant of --client, --aud and --scope.
func tokenRequest(opts *TokenOptions, cfg *config.Config) (oidcgrant.Request, error) {
	req := oidcgrant.Request{ClientID: opts.Client, Persona: opts.As, Audience: opts.Audience}
	if opts.Client != config.CLIClientID {
		i := slices.IndexFunc(cfg.IDP.Clients, func(c config.Client) bool { return c.ID == opts.Client })
		if i < 0 {
			ids := []string{config.CLIClientID}
			for _, c := range cfg.IDP.Clients {
				ids = append(ids, c.ID)
			}
			return req, usageErrorf("--client %q: no such client: use one of %s (add clients under idp.clients)", opts.Client, strings.Join(ids, ", "))
		}
		c := cfg.IDP.Clients[i]
		if len(c.Grants) > 0 && !slices.Contains(c.Grants, "authorization_code") {
			return req, usageErrorf("--client %q may not use the authorization code flow: add authorization_code to its grants", c.ID)
		}
		if len(c.RedirectURIs) == 0 {
			return req, usageErrorf("--client %q has no redirect_uris: add one (it is never dialled; e.g. http://127.0.0.1/callback)", c.ID)
		}
		req.ClientSecret, req.RedirectURI = c.Secret, c.RedirectURIs[0]
	}
	if opts.Scope != "" {
		req.Scopes = strings.Fields(opts.Scope)
		if !slices.Contains(req.Scopes, "openid") {
			req.Scopes = append([]string{"openid"}, req.Scopes...)
		}
	}
	return req, nil
}

// tokenClient reaches the IdP of this config when one runs (trusting
// authdev's local CA under idp.tls), or else one in this process, with the
// same store (the same keys) and the configured issuer URLs.
func tokenClient(ctx context.Context, opts *TokenOptions, cfg *config.Config, base, issuer string) (*http.Client, error) {
	client, err := tokenHTTPClient(opts, cfg)
	if err != nil {
		return nil, err
	}
	running, err := idpRunning(ctx, client, issuer)
	if err != nil || running {
		return client, err
	}
	store, err := opts.State()
	if err != nil {
		return nil, err
	}
	srv, err := mockidp.New(cfg, mockidp.Options{Store: store, BaseURL: base, Now: opts.Now, KeyReload: -1})
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: handlerTransport{srv.Handler()}, Timeout: 15 * time.Second}, nil
}

// tokenHTTPClient is the client for the IdP: the test's, or one that
// trusts authdev's local CA under idp.tls.
func tokenHTTPClient(opts *TokenOptions, cfg *config.Config) (*http.Client, error) {
	if opts.HTTPClient != nil {
		return opts.HTTPClient, nil
	}
	store, err := opts.State()
	if err != nil {
		return nil, err
	}
	return stack.IdPHTTPClient(cfg, store)
}

// idpRunning probes the issuer's discovery document: true when the IdP of
// this config answers, false when nothing listens, an error when something
// else does.
func idpRunning(ctx context.Context, client *http.Client, issuer string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, nil
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc) != nil || doc.Issuer != issuer {
		return false, fmt.Errorf("something that is not this config's IdP answers at %s (%s): stop it, or change idp.listen", issuer, resp.Status)
	}
	return true, nil
}

// handlerTransport serves requests with an in-process handler: the grant
// goes through the IdP's real endpoints without a listening socket.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

func printTokens(opts *TokenOptions, tok oidcgrant.Tokens) error {
	out := opts.IO.Out
	if opts.JSON {
		doc := map[string]any{
			"access_token": tok.AccessToken, "token_type": tok.TokenType,
			"expires_at": tok.Expiry.UTC().Format(time.RFC3339),
			"expires_in": int64(tok.Expiry.Sub(opts.Now()).Round(time.Second).Seconds()),
		}
		if tok.IDToken != "" {
			doc["id_token"] = tok.IDToken
		}
		if tok.RefreshToken != "" {
			doc["refresh_token"] = tok.RefreshToken
		}
		if tok.Scope != "" {
			doc["scope"] = tok.Scope
		}
		if opts.Decode {
			for name, t := range map[string]string{"access_token_claims": tok.AccessToken, "id_token_claims": tok.IDToken} {
				if t == "" {
					continue
				}
				c, err := jwtClaims(t)
				if err != nil {
					return err
				}
				doc[name] = c
			}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	t := tok.AccessToken
	if opts.IDToken {
		if tok.IDToken == "" {
			return errors.New("the IdP returned no ID token: ask for the openid scope")
		}
		t = tok.IDToken
	}
	if opts.Decode {
		c, err := jwtClaims(t)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(c)
	}
	_, err := fmt.Fprintln(out, t)
	return err
}

// jwtClaims decodes a JWT's payload for display; the token was just
// received from the IdP over its token endpoint.
func jwtClaims(t string) (map[string]any, error) {
	parts := strings.Split(t, ".")
	if len(parts) != 3 {
		return nil, errors.New("the token is not a JWT: nothing to decode")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("the token's payload is not base64url: %w", err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("the token's payload is not JSON: %w", err)
	}
	return c, nil
}
