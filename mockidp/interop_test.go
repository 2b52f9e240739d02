package mockidp_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

// getJSON fetches u and decodes the JSON answer, failing unless it is 200.
func getJSON(t testing.TB, u string) map[string]any {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %d %.200s", u, resp.StatusCode, b)
	}
	var m map[string]any
	decodeJSON(t, resp, &m)
	return m
}

// wellKnownURLs are the places RFC 8414 §3.1 (path inserted after the host)
// and OpenID Connect Discovery §4 (appended) derive from an issuer.
func wellKnownURLs(issuer string) []string {
	u, _ := url.Parse(issuer)
	host := u.Scheme + "://" + u.Host
	trimmed := strings.TrimSuffix(u.Path, "/")
	return []string{
		host + "/.well-known/oauth-authorization-server" + u.Path,
		host + "/.well-known/openid-configuration" + u.Path,
		host + trimmed + "/.well-known/openid-configuration",
		host + trimmed + "/.well-known/oauth-authorization-server",
	}
}

// OAuth-only clients (openid-client's discovery with algorithm 'oauth2')
// read RFC 8414 metadata where the well-known path is inserted between
// host and issuer path; every flavor's environment also answers under
// /<env>/ so that scripts keep one rule.
// https://www.rfc-editor.org/rfc/rfc8414#section-3.1
func TestMetadataAnswersAtEveryWellKnownForm(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	for _, e := range srv.Config().Environments {
		iss := srv.Issuer(e.Name)
		urls := append(wellKnownURLs(iss), wellKnownURLs(srv.BaseURL()+"/"+e.Name)...)
		for _, u := range urls {
			if got := getJSON(t, u)["issuer"]; got != iss {
				t.Errorf("%s: issuer %v, want %s", u, got, iss)
			}
		}
	}
}

// RFC 7662 §2.1: "the endpoint MUST also require some form of
// authorization": a public client, known by its id alone, may not read
// other clients' tokens.
func TestIntrospectionRefusesCallersThatDoNotAuthenticate(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	ts, err := srv.Mint("alice", "dev", mockidp.MintOptions{ClientID: "webapp"})
	if err != nil {
		t.Fatal(err)
	}
	ep := srv.Endpoints("dev")
	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"a public client's id in the body", url.Values{"token": {ts.AccessToken}, "client_id": {"spa"}}},
		{"the CLI client's id in the body", url.Values{"token": {ts.AccessToken}, "client_id": {"authdev-cli"}}},
		{"no client at all", url.Values{"token": {ts.AccessToken}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body, _ := postForm(t, ep.Introspection, tc.form, "", "")
			if st != http.StatusUnauthorized || body["error"] != "invalid_client" || body["active"] != nil {
				t.Errorf("%d %v, want 401 invalid_client", st, body)
			}
		})
	}
	if st, body, _ := postForm(t, ep.Introspection, url.Values{"token": {ts.AccessToken}}, "ci", "ci-secret"); st != 200 || body["active"] != true {
		t.Errorf("a confidential client: %d %v", st, body)
	}
	methods, _ := getJSON(t, ep.Discovery)["introspection_endpoint_auth_methods_supported"].([]any)
	if len(methods) == 0 || slices.Contains(methods, any("none")) {
		t.Errorf("introspection_endpoint_auth_methods_supported %v lists none or nothing", methods)
	}
}

// curl -u, requests' HTTPBasicAuth and authlib send the secret as is in
// HTTP Basic; RFC 6749 §2.3.1 clients form-encode it first. Both must work
// for a secret with + and %.
func TestClientSecretBasicAcceptsRawAndFormEncodedCredentials(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	tokenURL := srv.Endpoints("dev").Token
	for _, tc := range []struct {
		name, user, pass string
		want             int
	}{
		{"form-encoded as RFC 6749 says", url.QueryEscape("curl-app"), url.QueryEscape("a+b%2Fc"), 200},
		{"raw as curl -u sends it", "curl-app", "a+b%2Fc", 200},
		{"a wrong secret still fails", "curl-app", "a b/c", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(tc.user+":"+tc.pass)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.want, b)
			}
		})
	}
}

// Keycloak ("+"), Entra and most mock IdPs let a client return to its
// redirect URIs after logout when it registered no post-logout URIs.
// https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
func TestPostLogoutRedirectDefaultsToTheClientsRedirectURIs(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	logout := srv.Endpoints("dev").EndSession
	end := func(client, target string) *http.Response {
		t.Helper()
		q := url.Values{"client_id": {client}, "post_logout_redirect_uri": {target}, "state": {"st"}}
		resp, err := browser(t).Get(logout + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := end("spa", "http://localhost:5173/callback"); resp.StatusCode != http.StatusFound ||
		resp.Header.Get("Location") != "http://localhost:5173/callback?state=st" {
		t.Errorf("spa lists no post_logout_redirect_uris: %d %q, want a redirect to its redirect URI", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A client that lists post-logout URIs gets only those.
	if resp := end("webapp", "https://app.example.com/cb"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("webapp's redirect URI is not in its post_logout_redirect_uris: %d", resp.StatusCode)
	}
	if resp := end("spa", "http://localhost:5173/elsewhere"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an unregistered target: %d", resp.StatusCode)
	}
}

// authorizeError starts an authorization request with extra parameters and
// returns the error the client receives ("" when the login goes on).
func authorizeError(t *testing.T, srv *mockidp.Server, extra map[string]string) string {
	t.Helper()
	_, challenge := pkce()
	oc := oauthConfig(srv, "dev", "spa", "", "http://localhost:5173/callback", "openid")
	opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("code_challenge", challenge), oauth2.SetAuthURLParam("code_challenge_method", "S256"),
		oauth2.SetAuthURLParam("login_hint", "alice")}
	for k, v := range extra {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	resp, err := browser(t).Get(oc.AuthCodeURL("s", opts...))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	return loc.Query().Get("error")
}

// Discovery must list exactly what the handlers accept: each value a list
// names is tried against the endpoint it describes, and so is each value
// OAuth registers for it that the list leaves out.
func TestDiscoveryListsExactlyWhatTheHandlersAccept(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	d := getJSON(t, srv.Endpoints("dev").Discovery)
	listed := func(k string) []string {
		var out []string
		for _, v := range d[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	accepted := func(k string, all []string, accepts func(string) bool) {
		for _, v := range all {
			if got, want := accepts(v), slices.Contains(listed(k), v); got != want {
				t.Errorf("%s: %q accepted=%v but listed=%v", k, v, got, want)
			}
		}
	}
	// https://openid.net/specs/openid-connect-prompt-create-1_0.html adds create.
	accepted("prompt_values_supported", []string{"none", "login", "consent", "select_account", "create"}, func(p string) bool {
		return authorizeError(t, srv, map[string]string{"prompt": p}) != "invalid_request"
	})
	accepted("response_types_supported", []string{"code", "token", "id_token", "code id_token"}, func(rt string) bool {
		return authorizeError(t, srv, map[string]string{"response_type": rt}) == ""
	})
	accepted("code_challenge_methods_supported", []string{"S256", "plain"}, func(m string) bool {
		return authorizeError(t, srv, map[string]string{"code_challenge_method": m}) == ""
	})
	accepted("grant_types_supported", []string{"authorization_code", "refresh_token", "client_credentials", "password", "implicit",
		"urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange",
		"urn:ietf:params:oauth:grant-type:jwt-bearer"}, func(g string) bool {
		_, body, _ := postForm(t, srv.Endpoints("dev").Token, url.Values{"grant_type": {g}}, "ci", "ci-secret")
		return body["error"] != "unsupported_grant_type"
	})
	// Userinfo answers plain JSON, so discovery names no signing algorithm.
	if v, ok := d["userinfo_signing_alg_values_supported"]; ok {
		t.Errorf("userinfo_signing_alg_values_supported = %v, but userinfo is not signed", v)
	}
}

// Auth0's logout endpoint takes returnTo and client_id, the URL checked
// against the application's allowed logout URLs.
// https://auth0.com/docs/api/authentication/logout/auth-0-logout
func TestAuth0LogoutReturnsToTheClientsURL(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	v2 := strings.TrimSuffix(srv.Issuer("a0"), "/") + "/v2/logout"
	for target, want := range map[string]int{"http://localhost:5173/callback": http.StatusFound, "https://evil.example/": http.StatusBadRequest} {
		resp, err := browser(t).Get(v2 + "?" + url.Values{"client_id": {"spa"}, "returnTo": {target}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusFound && resp.Header.Get("Location") != target) {
			t.Errorf("returnTo %s: %d %q, want %d", target, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}

// Behind a reverse proxy idp.public_url may carry a path: the issuers and
// every well-known form keep it.
func TestMetadataAnswersUnderAPublicURLWithAPath(t *testing.T) {
	cfg := testConfig(t)
	store := state.NewMemory()
	if err := idptest.SeedKeys(store, cfg); err != nil {
		t.Fatal(err)
	}
	srv, err := mockidp.New(cfg, mockidp.Options{Store: store, BaseURL: "https://idp.example/auth"})
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"dev", "okta", "a0"} {
		iss := srv.Issuer(env)
		for _, u := range wellKnownURLs(iss) {
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"issuer":"`+iss+`"`) {
				t.Errorf("%s: %d %.120s", u, rec.Code, rec.Body.String())
			}
		}
	}
}
