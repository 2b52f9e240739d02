package mockidp_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

const webappRedirect = "http://127.0.0.1:5555/callback"

// codeFor logs persona in at env for the webapp client and returns the
// code and the PKCE verifier it needs.
func codeFor(t testing.TB, srv *mockidp.Server, env, persona string) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	oc := oauthConfig(srv, env, "webapp", "webapp-secret", webappRedirect, "openid")
	loc := redirectOf(t, browser(t), http.MethodGet, oc.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", persona)), nil)
	if loc.Query().Get("code") == "" {
		t.Fatalf("no code: %v", loc)
	}
	return loc.Query().Get("code"), verifier
}

// redeem exchanges a code as webapp, answering the HTTP status and body.
func redeem(t testing.TB, srv *mockidp.Server, env, code, verifier string) (int, map[string]any) {
	t.Helper()
	st, body, _ := postForm(t, srv.Endpoints(env).Token, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {webappRedirect}, "code_verifier": {verifier}}, "webapp", "webapp-secret")
	return st, body
}

func refreshAs(t testing.TB, srv *mockidp.Server, rt string) (int, map[string]any) {
	t.Helper()
	st, body, _ := postForm(t, srv.Endpoints("dev").Token, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "webapp", "webapp-secret")
	return st, body
}

func TestTokenEndpointRefusals(t *testing.T) {
	clk := newClock()
	srv := idptest.NewTestServer(t, testConfig(t), mockidp.Options{Now: clk.Now})
	tokenURL := srv.Endpoints("dev").Token
	type result struct {
		status int
		body   map[string]any
	}
	for _, tc := range []struct {
		name       string
		do         func(t *testing.T) result
		wantStatus int
		wantError  string
	}{
		{"an unknown client is refused", func(t *testing.T) result {
			st, b, _ := postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials"}}, "nobody", "x")
			return result{st, b}
		}, 401, "invalid_client"},
		{"a wrong secret is refused", func(t *testing.T) result {
			st, b, h := postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials"}}, "ci", "guess")
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
			}
			return result{st, b}
		}, 401, "invalid_client"},
		{"a confidential client without its secret is refused", func(t *testing.T) result {
			st, b, _ := postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {"ci"}}, "", "")
			return result{st, b}
		}, 401, "invalid_client"},
		{"credentials in both header and body are refused", func(t *testing.T) result {
			st, b, _ := postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_secret": {"ci-secret"}}, "ci", "ci-secret")
			return result{st, b}
		}, 400, "invalid_request"},
		{"a grant the client may not use is refused", func(t *testing.T) result {
			st, b, _ := postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials"}}, "webapp", "webapp-secret")
			return result{st, b}
		}, 400, "unauthorized_client"},
		{"an unknown grant type is refused", func(t *testing.T) result {
			st, b, _ := postForm(t, tokenURL, url.Values{"grant_type": {"password"}, "username": {"alice"}}, "webapp", "webapp-secret")
			return result{st, b}
		}, 400, "unsupported_grant_type"},
		{"a repeated parameter is refused", func(t *testing.T) result {
			st, b, _ := postForm(t, tokenURL, url.Values{"grant_type": {"client_credentials", "client_credentials"}}, "ci", "ci-secret")
			return result{st, b}
		}, 400, "invalid_request"},
		{"a GET is refused", func(t *testing.T) result {
			resp, err := http.Get(tokenURL + "?grant_type=client_credentials")
			if err != nil {
				t.Fatal(err)
			}
			var b map[string]any
			decodeJSON(t, resp, &b)
			return result{resp.StatusCode, b}
		}, 400, "invalid_request"},
		{"a reused code is refused", func(t *testing.T) result {
			code, v := codeFor(t, srv, "dev", "alice")
			if st, _ := redeem(t, srv, "dev", code, v); st != 200 {
				t.Fatalf("first redemption: %d", st)
			}
			st, b := redeem(t, srv, "dev", code, v)
			return result{st, b}
		}, 400, "invalid_grant"},
		{"a wrong PKCE verifier is refused", func(t *testing.T) result {
			code, _ := codeFor(t, srv, "dev", "alice")
			st, b := redeem(t, srv, "dev", code, oauth2.GenerateVerifier())
			return result{st, b}
		}, 400, "invalid_grant"},
		{"a missing PKCE verifier is refused", func(t *testing.T) result {
			code, _ := codeFor(t, srv, "dev", "alice")
			st, b := redeem(t, srv, "dev", code, "")
			return result{st, b}
		}, 400, "invalid_grant"},
		{"a code past its 60 seconds is refused", func(t *testing.T) result {
			code, v := codeFor(t, srv, "dev", "alice")
			clk.Advance(61 * time.Second)
			st, b := redeem(t, srv, "dev", code, v)
			return result{st, b}
		}, 400, "invalid_grant"},
		{"a code redeemed with another redirect_uri is refused", func(t *testing.T) result {
			code, v := codeFor(t, srv, "dev", "alice")
			st, b, _ := postForm(t, tokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {"https://app.example.com/cb"}, "code_verifier": {v}}, "webapp", "webapp-secret")
			return result{st, b}
		}, 400, "invalid_grant"},
		{"a code redeemed at another environment is refused", func(t *testing.T) result {
			code, v := codeFor(t, srv, "dev", "alice")
			st, b := redeem(t, srv, "gen", code, v)
			return result{st, b}
		}, 400, "invalid_grant"},
		{"a revoked refresh token is refused", func(t *testing.T) result {
			code, v := codeFor(t, srv, "dev", "alice")
			_, tok := redeem(t, srv, "dev", code, v)
			rt := tok["refresh_token"].(string)
			if st, _, _ := postForm(t, srv.Endpoints("dev").Revocation, url.Values{"token": {rt}}, "webapp", "webapp-secret"); st != 200 {
				t.Fatalf("revocation: %d", st)
			}
			st, b := refreshAs(t, srv, rt)
			return result{st, b}
		}, 400, "invalid_grant"},
		{"a rotated refresh token is refused and revokes its family", func(t *testing.T) result {
			code, v := codeFor(t, srv, "dev", "alice")
			_, tok := redeem(t, srv, "dev", code, v)
			old := tok["refresh_token"].(string)
			st, next := refreshAs(t, srv, old)
			if st != 200 {
				t.Fatalf("first refresh: %d %v", st, next)
			}
			st, b := refreshAs(t, srv, old)
			if st2, b2 := refreshAs(t, srv, next["refresh_token"].(string)); st2 != 400 || b2["error"] != "invalid_grant" {
				t.Errorf("the newest token of a revoked family still works: %d %v", st2, b2)
			}
			return result{st, b}
		}, 400, "invalid_grant"},
		{"a reused code revokes the refresh token it bought", func(t *testing.T) result {
			code, v := codeFor(t, srv, "dev", "bob")
			_, tok := redeem(t, srv, "dev", code, v)
			redeem(t, srv, "dev", code, v)
			st, b := refreshAs(t, srv, tok["refresh_token"].(string))
			return result{st, b}
		}, 400, "invalid_grant"},
		{"token exchange to an unknown audience is refused", func(t *testing.T) result {
			ts, _ := srv.Mint("alice", "dev", mockidp.MintOptions{})
			st, b, _ := postForm(t, tokenURL, url.Values{"grant_type": {string(config.GrantTokenExchange)}, "subject_token": {ts.AccessToken},
				"subject_token_type": {mockidp.TokenTypeAccessToken}, "audience": {"https://evil.example"}}, "ci", "ci-secret")
			return result{st, b}
		}, 400, "invalid_target"},
		{"token exchange of a token meant for another audience is refused", func(t *testing.T) result {
			ts, _ := srv.Mint("alice", "dev", mockidp.MintOptions{Audience: "orders-api"})
			st, b, _ := postForm(t, tokenURL, url.Values{"grant_type": {string(config.GrantTokenExchange)}, "subject_token": {ts.AccessToken},
				"subject_token_type": {mockidp.TokenTypeAccessToken}, "audience": {"authdev"}}, "ci", "ci-secret")
			return result{st, b}
		}, 400, "invalid_grant"},
		{"token exchange of another environment's token is refused", func(t *testing.T) result {
			ts, _ := srv.Mint("alice", "gen", mockidp.MintOptions{})
			st, b, _ := postForm(t, tokenURL, url.Values{"grant_type": {string(config.GrantTokenExchange)}, "subject_token": {ts.AccessToken},
				"subject_token_type": {mockidp.TokenTypeAccessToken}}, "ci", "ci-secret")
			return result{st, b}
		}, 400, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.do(t)
			if r.status != tc.wantStatus || r.body["error"] != tc.wantError {
				t.Fatalf("got %d %v, want %d %s", r.status, r.body, tc.wantStatus, tc.wantError)
			}
			if d, _ := r.body["error_description"].(string); d == "" {
				t.Error("no error_description")
			}
		})
	}
}

func TestAuthorizeShowsAnErrorPageRatherThanRedirectingToAnUnverifiedURI(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	base := srv.Endpoints("dev").Authorization
	for _, tc := range []struct {
		name   string
		params url.Values
		want   string
	}{
		{"an unknown client", url.Values{"client_id": {"nobody"}, "redirect_uri": {webappRedirect}, "response_type": {"code"}}, `client &#34;nobody&#34; is not registered`},
		{"an unregistered redirect_uri", url.Values{"client_id": {"webapp"}, "redirect_uri": {"https://evil.example/cb"}, "response_type": {"code"}}, "is not registered for client"},
		{"a redirect_uri with a registered prefix", url.Values{"client_id": {"webapp"}, "redirect_uri": {"https://app.example.com/cb/../evil"}, "response_type": {"code"}}, "is not registered for client"},
		{"a non-loopback redirect for the CLI client", url.Values{"client_id": {"authdev-cli"}, "redirect_uri": {"http://192.0.2.1:8000/cb"}, "response_type": {"code"}}, "is not registered for client"},
		{"a loopback lookalike host for the proxy", url.Values{"client_id": {"authdev-proxy"}, "redirect_uri": {"http://localhost.evil.example/oauth/login"}, "response_type": {"code"}}, "is not registered for client"},
		{"a redirect_uri with a fragment", url.Values{"client_id": {"webapp"}, "redirect_uri": {webappRedirect + "#x"}, "response_type": {"code"}}, "fragment"},
		{"no redirect_uri", url.Values{"client_id": {"webapp"}, "response_type": {"code"}}, "no redirect_uri"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := browser(t).Get(base + "?" + tc.params.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(string(body), tc.want) {
				t.Fatalf("status %d, Location %q, body:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
		})
	}
}

func TestAuthorizeRedirectsProtocolErrorsToTheVerifiedClient(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	_, challenge := pkce()
	for _, tc := range []struct {
		name, client, redirect string
		params                 url.Values
		want                   string
	}{
		{"a public client without PKCE", "spa", "http://localhost:5173/callback", url.Values{"response_type": {"code"}}, "invalid_request"},
		{"plain PKCE", "spa", "http://localhost:5173/callback", url.Values{"response_type": {"code"}, "code_challenge": {challenge}, "code_challenge_method": {"plain"}}, "invalid_request"},
		{"the implicit flow", "webapp", webappRedirect, url.Values{"response_type": {"token"}}, "unsupported_response_type"},
		{"a client without the code grant", "ci", "", url.Values{"response_type": {"code"}}, ""},
		{"prompt=none with another prompt", "webapp", webappRedirect, url.Values{"response_type": {"code"}, "prompt": {"none login"}}, "invalid_request"},
		{"a request object", "webapp", webappRedirect, url.Values{"response_type": {"code"}, "request": {"eyJ..."}}, "request_not_supported"},
		{"the picker's cancel button", "webapp", webappRedirect, url.Values{"response_type": {"code"}}, "access_denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.params
			p.Set("client_id", tc.client)
			p.Set("state", "st")
			if tc.redirect != "" {
				p.Set("redirect_uri", tc.redirect)
			}
			u := srv.Endpoints("dev").Authorization + "?" + p.Encode()
			if tc.want == "" {
				// A client with no redirect URIs has nothing to redirect to.
				resp, _ := browser(t).Get(u)
				resp.Body.Close()
				if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
					t.Fatalf("status %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			var loc *url.URL
			if tc.want == "access_denied" {
				loc = redirectOf(t, browser(t), http.MethodPost, u, url.Values{"cancel": {"1"}})
			} else {
				loc = redirectOf(t, browser(t), http.MethodGet, u, nil)
			}
			if !strings.HasPrefix(loc.String(), tc.redirect+"?") || loc.Query().Get("error") != tc.want || loc.Query().Get("state") != "st" || loc.Query().Get("error_description") == "" {
				t.Fatalf("redirect %s", loc)
			}
		})
	}
}
