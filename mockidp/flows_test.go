package mockidp_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

func TestDeviceFlowWithXOAuth2(t *testing.T) {
	events := make(chan audit.Event, 10)
	srv := idptest.NewTestServer(t, testConfig(t), mockidp.Options{DeviceInterval: time.Second, Events: func(e audit.Event) { events <- e }})
	oc := oauthConfig(srv, "dev", config.CLIClientID, "", "", "openid", "email")
	ctx := context.Background()
	da, err := oc.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[B-Z]{4}-[B-Z]{4}$`).MatchString(da.UserCode) || da.Interval != 1 || !strings.HasPrefix(da.VerificationURI, srv.Issuer("dev")) {
		t.Fatalf("device authorization %+v", da)
	}
	// A person opens the verification page, types the code in lower case
	// without the dash, and picks bob.
	b := browser(t)
	resp, err := b.Get(da.VerificationURI + "?user_code=" + strings.ToLower(strings.ReplaceAll(da.UserCode, "-", "")))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `value="bob"`) {
		t.Fatalf("verification page %d:\n%s", resp.StatusCode, page)
	}
	resp, err = b.PostForm(da.VerificationURI, url.Values{"user_code": {da.UserCode}, "persona": {"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("approval: %d", resp.StatusCode)
	}
	tok, err := oc.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(t, srv, "dev", config.CLIClientID, nil).Verify(ctx, tok.Extra("id_token").(string)); err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, tok.AccessToken); c["email"] != "bob@example.com" {
		t.Fatalf("device token for %v", c["email"])
	}
	if e := <-events; e.Kind != audit.KindLogin || e.Persona != "bob" || e.Env != "dev" {
		t.Errorf("event %+v", e)
	}
}

func TestDeviceFlowAnswersPendingSlowDownDeniedAndExpired(t *testing.T) {
	clk := newClock()
	srv := idptest.NewTestServer(t, testConfig(t), mockidp.Options{Now: clk.Now, DeviceInterval: 5 * time.Second})
	ep := srv.Endpoints("dev")
	start := func() (device, user string) {
		_, b, _ := postForm(t, ep.DeviceAuthorization, url.Values{"client_id": {config.CLIClientID}, "scope": {"openid"}}, "", "")
		return b["device_code"].(string), b["user_code"].(string)
	}
	poll := func(device string) string {
		_, b, _ := postForm(t, ep.Token, url.Values{"grant_type": {string(config.GrantDeviceCode)}, "device_code": {device}, "client_id": {config.CLIClientID}}, "", "")
		e, _ := b["error"].(string)
		return e
	}
	dc, uc := start()
	if got := poll(dc); got != "authorization_pending" {
		t.Errorf("first poll: %q", got)
	}
	clk.Advance(time.Second)
	if got := poll(dc); got != "slow_down" {
		t.Errorf("poll after 1s: %q", got)
	}
	clk.Advance(6 * time.Second)
	if got := poll(dc); got != "slow_down" {
		t.Errorf("poll after 6s, interval now 10s: %q", got)
	}
	resp, _ := http.PostForm(ep.DeviceVerification, url.Values{"user_code": {uc}, "cancel": {"1"}})
	resp.Body.Close()
	clk.Advance(20 * time.Second)
	if got := poll(dc); got != "access_denied" {
		t.Errorf("after deny: %q", got)
	}
	dc, _ = start()
	clk.Advance(11 * time.Minute)
	if got := poll(dc); got != "expired_token" {
		t.Errorf("after 11 minutes: %q", got)
	}
	resp, _ = http.Get(ep.DeviceVerification + "?user_code=BCDF-GHJK")
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("unknown user code: %d", resp.StatusCode)
	}
}

func TestTokenExchangeIssuesForTheRequestedAudienceWithActor(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	subject, _ := srv.Mint("alice", "dev", mockidp.MintOptions{Scopes: []string{"openid", "email", "orders:read"}})
	actor, _ := srv.Mint("bob", "dev", mockidp.MintOptions{})
	st, b, _ := postForm(t, srv.Endpoints("dev").Token, url.Values{
		"grant_type": {string(config.GrantTokenExchange)}, "subject_token": {subject.AccessToken}, "subject_token_type": {mockidp.TokenTypeAccessToken},
		"actor_token": {actor.AccessToken}, "actor_token_type": {mockidp.TokenTypeAccessToken},
		"audience": {"orders-api"}, "scope": {"orders:read"},
	}, "orders", "orders-secret")
	if st != 200 {
		t.Fatalf("%d %v", st, b)
	}
	c := claimsOf(t, b["access_token"].(string))
	if c["aud"] != "orders-api" || c["scope"] != "orders:read" || c["email"] != "alice@example.com" || c["client_id"] != "orders" {
		t.Errorf("claims %v", c)
	}
	if act, _ := c["act"].(map[string]any); act["sub"] != claimsOf(t, actor.AccessToken)["sub"] {
		t.Errorf("act %v", c["act"])
	}
	if b["issued_token_type"] != mockidp.TokenTypeAccessToken || b["id_token"] != nil {
		t.Errorf("response %v", b)
	}
}

func TestUserinfoIntrospectionAndRevocationOfAnAccessToken(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	ep := srv.Endpoints("kc")
	code, v := codeFor(t, srv, "kc", "alice")
	_, tok := redeem(t, srv, "kc", code, v)
	at := tok["access_token"].(string)

	userinfo := func(token string) (int, map[string]any, http.Header) {
		req, _ := http.NewRequest(http.MethodGet, ep.UserInfo, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Origin", "http://localhost:5173")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		decodeJSON(t, resp, &m)
		return resp.StatusCode, m, resp.Header
	}
	st, ui, h := userinfo(at)
	if st != 200 || ui["preferred_username"] != "alice" || ui["sub"] != claimsOf(t, at)["sub"] || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("userinfo %d %v", st, ui)
	}
	if g, _ := ui["groups"].([]any); len(g) != 1 || g[0] != "eng-admins" {
		t.Errorf("keycloak userinfo groups %v", ui["groups"])
	}
	if st, b, h := userinfo(tok["id_token"].(string)); st != 401 || b["error"] != "invalid_token" || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("an ID token at userinfo: %d %v %v", st, b, h)
	}

	st, in, _ := postForm(t, ep.Introspection, url.Values{"token": {at}}, "webapp", "webapp-secret")
	if st != 200 || in["active"] != true || in["username"] != "alice" || in["client_id"] != "webapp" || in["scope"] != "openid" {
		t.Fatalf("introspection %d %v", st, in)
	}
	_, in, _ = postForm(t, ep.Introspection, url.Values{"token": {tok["refresh_token"].(string)}, "token_type_hint": {"refresh_token"}}, "webapp", "webapp-secret")
	if in["active"] != true || in["token_type"] != "refresh_token" {
		t.Errorf("refresh token introspection %v", in)
	}
	if st, b, _ := postForm(t, ep.Introspection, url.Values{"token": {at}}, "", ""); st != 401 || b["error"] != "invalid_client" {
		t.Errorf("anonymous introspection %d %v", st, b)
	}

	if st, _, _ := postForm(t, ep.Revocation, url.Values{"token": {at}, "token_type_hint": {"access_token"}}, "webapp", "webapp-secret"); st != 200 {
		t.Fatalf("revocation %d", st)
	}
	if _, in, _ := postForm(t, ep.Introspection, url.Values{"token": {at}}, "webapp", "webapp-secret"); in["active"] != false {
		t.Errorf("revoked token introspects as %v", in)
	}
	if st, _, _ := userinfo(at); st != 401 {
		t.Errorf("revoked token at userinfo: %d", st)
	}
	if st, _, _ := postForm(t, ep.Revocation, url.Values{"token": {"never-issued"}}, "webapp", "webapp-secret"); st != 200 {
		t.Errorf("revoking an unknown token: %d, want 200 (RFC 7009 §2.2)", st)
	}
}

func TestAccessTokenExpiresWithTheConfiguredTTL(t *testing.T) {
	clk := newClock()
	srv := idptest.NewTestServer(t, testConfig(t), mockidp.Options{Now: clk.Now})
	ts, _ := srv.Mint("bob", "gen", mockidp.MintOptions{})
	c := claimsOf(t, ts.AccessToken)
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 300 || ts.ExpiresIn != 300 {
		t.Errorf("lifetime %v s, expires_in %d, want 300", exp-iat, ts.ExpiresIn)
	}
	clk.Advance(301 * time.Second)
	_, in, _ := postForm(t, srv.Endpoints("gen").Introspection, url.Values{"token": {ts.AccessToken}}, "ci", "ci-secret")
	if in["active"] != false {
		t.Errorf("expired token introspects as %v", in)
	}
}

func TestEndSessionValidatesThePostLogoutRedirect(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	b := browser(t)
	oc := oauthConfig(srv, "dev", "webapp", "webapp-secret", webappRedirect, "openid")
	v := oauth2.GenerateVerifier()
	loc := redirectOf(t, b, http.MethodGet, oc.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("login_hint", "alice")), nil)
	tok, err := oc.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	idt := tok.Extra("id_token").(string)
	logout := srv.Endpoints("dev").EndSession

	for _, tc := range []struct{ name, query string }{
		{"an unregistered post-logout URI", url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode()},
		{"a post-logout URI without a client", url.Values{"post_logout_redirect_uri": {"https://app.example.com/bye"}}.Encode()},
		{"a hint for another client", url.Values{"id_token_hint": {idt}, "client_id": {"spa"}, "post_logout_redirect_uri": {"http://localhost:5173/"}}.Encode()},
		{"a forged hint", url.Values{"id_token_hint": {idt[:len(idt)-4] + "AAAA"}, "post_logout_redirect_uri": {"https://app.example.com/bye"}}.Encode()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := b.Get(logout + "?" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	loc = redirectOf(t, b, http.MethodGet, logout+"?"+url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://app.example.com/bye"}, "state": {"z"}}.Encode(), nil)
	if loc.String() != "https://app.example.com/bye?state=z" {
		t.Fatalf("logout redirect %s", loc)
	}
	// The session is gone: prompt=none now needs a login.
	loc = redirectOf(t, b, http.MethodGet, oc.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("prompt", "none")), nil)
	if loc.Query().Get("error") != "login_required" {
		t.Fatalf("after logout prompt=none gave %s", loc)
	}
}

func TestCORSPreflightAndErrorsOnBrowserFacingEndpoints(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	ep := srv.Endpoints("dev")
	for _, u := range []string{ep.Discovery, ep.JWKS, ep.Token, ep.UserInfo} {
		req, _ := http.NewRequest(http.MethodOptions, u, nil)
		req.Header.Set("Origin", "http://localhost:5173")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Errorf("preflight %s: %d %v", u, resp.StatusCode, resp.Header)
		}
	}
	st, b, h := postForm(t, ep.Token, url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}}, "webapp", "webapp-secret")
	if st != 400 || b["error"] != "invalid_grant" || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("token error without CORS: %d %v %v", st, b, h)
	}
}
