package mockidp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

func TestCodeFlowWithPKCEAndLoginHintYieldsVerifiedTokens(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	ctx := context.Background()
	oc := oauthConfig(srv, "dev", "webapp", "webapp-secret", "http://127.0.0.1:5555/callback", oidc.ScopeOpenID, "email")
	v, challenge := pkce()
	authURL := oc.AuthCodeURL("st-1", oauth2.SetAuthURLParam("login_hint", "alice"), oauth2.SetAuthURLParam("nonce", "n-1"),
		oauth2.SetAuthURLParam("code_challenge", challenge), oauth2.SetAuthURLParam("code_challenge_method", "S256"))

	loc := redirectOf(t, browser(t), http.MethodGet, authURL, nil)
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != "http://127.0.0.1:5555/callback" {
		t.Fatalf("redirected to %s", loc)
	}
	q := loc.Query()
	if q.Get("state") != "st-1" || q.Get("iss") != srv.Issuer("dev") || q.Get("code") == "" {
		t.Fatalf("callback query %v", q)
	}
	tok, err := oc.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := verifier(t, srv, "dev", "webapp", nil).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc refused the ID token: %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var c map[string]any
	idt.Claims(&c)
	if idt.Nonce != "n-1" || c["email"] != "alice@example.com" || c["name"] != "Alice Admin" || c["auth_time"] == nil {
		t.Errorf("ID token claims %v", c)
	}
	if g, _ := c["groups"].([]any); len(g) != 1 || g[0] != "eng-admins" {
		t.Errorf("groups %v", c["groups"])
	}
	if c["department"] != "platform" || c["iss"] != srv.Issuer("dev") {
		t.Errorf("persona claims must merge without replacing iss: %v", c)
	}
	at := claimsOf(t, tok.AccessToken)
	if h := headerOf(t, tok.AccessToken); h["typ"] != "at+jwt" || h["alg"] != "RS256" {
		t.Errorf("access token header %v", h)
	}
	if at["aud"] != "authdev" || at["client_id"] != "webapp" || at["scope"] != "openid email" || at["sub"] != idt.Subject {
		t.Errorf("access token claims %v", at)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}

	// Refresh through x/oauth2: the token source refreshes an expired token.
	tok.Expiry = time.Now().Add(-time.Hour)
	fresh, err := oc.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || fresh.RefreshToken == "" {
		t.Error("refresh did not rotate the tokens")
	}
	if _, err := verifier(t, srv, "dev", "webapp", nil).Verify(ctx, fresh.Extra("id_token").(string)); err != nil {
		t.Errorf("refreshed ID token: %v", err)
	}
}

func TestPublicClientCompletesCodeFlowOnAnyLoopbackPort(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	for _, tc := range []struct{ name, client, redirect string }{
		{"the built-in CLI client on an ephemeral port", config.CLIClientID, "http://127.0.0.1:49152/cb"},
		{"the built-in CLI client on IPv6 loopback", config.CLIClientID, "http://[::1]:8080/"},
		{"a configured SPA on another port than registered", "spa", "http://localhost:3000/callback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oc := oauthConfig(srv, "gen", tc.client, "", tc.redirect, "openid")
			v := oauth2.GenerateVerifier()
			loc := redirectOf(t, browser(t), http.MethodGet, oc.AuthCodeURL("s", oauth2.S256ChallengeOption(v),
				oauth2.SetAuthURLParam("login_hint", "bob"), oauth2.SetAuthURLParam("audience", "reports-api")), nil)
			tok, err := oc.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(v))
			if err != nil {
				t.Fatal(err)
			}
			if aud := claimsOf(t, tok.AccessToken)["aud"]; aud != "reports-api" {
				t.Errorf("access token aud %v, want the requested reports-api", aud)
			}
			if _, err := verifier(t, srv, "gen", tc.client, nil).Verify(context.Background(), tok.Extra("id_token").(string)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPickerFormLogsInThePersonaAndTheSessionAnswersPromptNone(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	b := browser(t)
	oc := oauthConfig(srv, "dev", "webapp", "webapp-secret", "http://127.0.0.1:5555/callback", "openid")
	authURL := oc.AuthCodeURL("s1")
	resp, err := b.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `name="persona" value="bob"`) || !strings.Contains(string(page), "Bob Builder") {
		t.Fatalf("picker: %d\n%s", resp.StatusCode, page)
	}
	// A non-JS client posts the choice to the same URL.
	loc := redirectOf(t, b, http.MethodPost, authURL, url.Values{"persona": {"bob"}})
	tok, err := oc.Exchange(context.Background(), loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if got := claimsOf(t, tok.AccessToken)["email"]; got != "bob@example.com" {
		t.Fatalf("logged in %v, want bob", got)
	}
	// The IdP session now answers prompt=none silently, as bob.
	loc = redirectOf(t, b, http.MethodGet, oc.AuthCodeURL("s2", oauth2.SetAuthURLParam("prompt", "none")), nil)
	tok, err = oc.Exchange(context.Background(), loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if got := claimsOf(t, tok.AccessToken)["email"]; got != "bob@example.com" {
		t.Fatalf("prompt=none logged in %v, want bob", got)
	}
	// prompt=login with a hint switches persona despite the session.
	loc = redirectOf(t, b, http.MethodGet, oc.AuthCodeURL("s3", oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("login_hint", "alice")), nil)
	tok, _ = oc.Exchange(context.Background(), loc.Query().Get("code"))
	if got := claimsOf(t, tok.AccessToken)["email"]; got != "alice@example.com" {
		t.Fatalf("prompt=login+login_hint logged in %v, want alice", got)
	}
	// Without a session prompt=none is refused at the client's redirect.
	loc = redirectOf(t, browser(t), http.MethodGet, oc.AuthCodeURL("s4", oauth2.SetAuthURLParam("prompt", "none")), nil)
	if loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != "s4" {
		t.Fatalf("prompt=none without session: %v", loc)
	}
}

func TestClientCredentialsIssuesAccessTokenForTheClient(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	for _, tc := range []struct {
		name, env, client, secret, wantAud, alg string
		params                                  url.Values
	}{
		{"defaults to the environment's audience", "dev", "ci", "ci-secret", "authdev", "RS256", nil},
		{"uses the client's configured audience", "dev", "orders", "orders-secret", "orders-api", "RS256", nil},
		{"honours a requested audience", "dev", "ci", "ci-secret", "billing", "RS256", url.Values{"audience": {"billing"}}},
		{"signs with ES256 where the environment says so", "es", "ci", "ci-secret", "api://es", "ES256", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := clientcredentials.Config{ClientID: tc.client, ClientSecret: tc.secret, TokenURL: srv.Endpoints(tc.env).Token,
				Scopes: []string{"read", "write"}, EndpointParams: tc.params}
			tok, err := cc.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			c := claimsOf(t, tok.AccessToken)
			if c["sub"] != tc.client || c["aud"] != tc.wantAud || c["scope"] != "read write" || c["client_id"] != tc.client {
				t.Errorf("claims %v", c)
			}
			if h := headerOf(t, tok.AccessToken); h["alg"] != tc.alg || h["typ"] != "at+jwt" {
				t.Errorf("header %v", h)
			}
			if exp := tok.Expiry; exp.IsZero() {
				t.Error("no expires_in")
			}
		})
	}
}

func TestMintMatchesTheCodeGrantAndVerifies(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	ts, err := srv.Mint("alice", "prod", mockidp.MintOptions{Nonce: "nonce-x"})
	if err != nil {
		t.Fatal(err)
	}
	idt, err := verifier(t, srv, "prod", config.CLIClientID, nil).Verify(context.Background(), ts.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	idt.Claims(&c)
	if c["tid"] == nil || c["oid"] == nil || c["preferred_username"] != "alice@example.com" || c["ver"] != "2.0" {
		t.Errorf("entra claims %v", c)
	}
	if r, _ := c["roles"].([]any); len(r) != 1 || r[0] != "admin" {
		t.Errorf("roles from the prod mapping: %v", c["roles"])
	}
	if claimsOf(t, ts.AccessToken)["aud"] != "api://prod" {
		t.Errorf("access token aud %v", claimsOf(t, ts.AccessToken)["aud"])
	}
	if _, err := srv.Mint("mallory", "prod", mockidp.MintOptions{}); err == nil || !strings.Contains(err.Error(), `"mallory"`) {
		t.Errorf("unknown persona: %v", err)
	}
	if _, err := srv.Mint("alice", "qa", mockidp.MintOptions{}); err == nil || !strings.Contains(err.Error(), `"qa"`) {
		t.Errorf("unknown environment: %v", err)
	}
}

func TestDiscoveryListsEveryEndpointWithCORS(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	for _, env := range []string{"dev", "es", "prod", "okta", "kc", "cog", "a0"} {
		resp, err := http.Get(srv.Endpoints(env).Discovery)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		decodeJSON(t, resp, &d)
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: no CORS on discovery", env)
		}
		for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "introspection_endpoint",
			"revocation_endpoint", "end_session_endpoint", "device_authorization_endpoint"} {
			if s, _ := d[k].(string); !strings.HasPrefix(s, srv.BaseURL()+"/"+env+"/") {
				t.Errorf("%s: %s = %v", env, k, d[k])
			}
		}
		algs, _ := d["id_token_signing_alg_values_supported"].([]any)
		want := map[string]string{"es": "ES256", "prod": "ES256"}[env]
		if want == "" {
			want = "RS256"
		}
		if !slices.Contains(algs, any(want)) {
			t.Errorf("%s: algs %v", env, algs)
		}
	}
}

func decodeJSON(t testing.TB, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v: %s", resp.Request.URL, err, b)
	}
}

func TestLoginHintAndMaxAgeDecideBetweenSilentLoginAndThePicker(t *testing.T) {
	clk := newClock()
	var events []audit.Event
	var mu sync.Mutex
	srv := idptest.NewTestServer(t, testConfig(t), mockidp.Options{Now: clk.Now, Events: func(e audit.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}})
	b := browser(t)
	oc := oauthConfig(srv, "prod", "webapp", "webapp-secret", "http://127.0.0.1:5555/callback", "openid")
	// An email works as a hint too, as the persona has it in prod.
	loc := redirectOf(t, b, http.MethodGet, oc.AuthCodeURL("s", oauth2.SetAuthURLParam("login_hint", "bob@example.com")), nil)
	if loc.Query().Get("code") == "" {
		t.Fatalf("email hint: %s", loc)
	}
	clk.Advance(2 * time.Minute)
	// The session is 120 s old: max_age=60 needs a new login, so the picker shows.
	resp, err := b.Get(oc.AuthCodeURL("s", oauth2.SetAuthURLParam("max_age", "60")))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `name="persona"`) {
		t.Fatalf("max_age exceeded: %d\n%s", resp.StatusCode, page)
	}
	loc = redirectOf(t, b, http.MethodGet, oc.AuthCodeURL("s", oauth2.SetAuthURLParam("max_age", "60"), oauth2.SetAuthURLParam("prompt", "none")), nil)
	if loc.Query().Get("error") != "login_required" {
		t.Fatalf("max_age exceeded with prompt=none: %s", loc)
	}
	// max_age=300 accepts the session.
	loc = redirectOf(t, b, http.MethodGet, oc.AuthCodeURL("s", oauth2.SetAuthURLParam("max_age", "300")), nil)
	if loc.Query().Get("code") == "" {
		t.Fatalf("max_age within: %s", loc)
	}
	// An unknown hint shows the picker with a notice.
	resp, _ = b.Get(oc.AuthCodeURL("s", oauth2.SetAuthURLParam("login_hint", "mallory")))
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "mallory") || !strings.Contains(string(page), `role="alert"`) {
		t.Fatalf("unknown hint page:\n%s", page)
	}
	postForm(t, srv.Endpoints("prod").Token, url.Values{"grant_type": {"authorization_code"}, "code": {"bogus"}}, "webapp", "webapp-secret")
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0].Kind != audit.KindLogin || events[0].Persona != "bob" || events[0].Env != "prod" ||
		events[1].Kind != audit.KindTokenRefused || !strings.Contains(events[1].Message, "invalid_grant") {
		t.Fatalf("events %+v", events)
	}
}
