package mockidp_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/flavor"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

// shape is what a provider's documented example shows of one token kind:
// each claim with its JSON type, the claims it never has, and the JOSE
// typ header ("" for none).
type shape struct {
	claims map[string]string // claim -> "string", "number", "array", "object" or "bool"
	absent []string
	typ    string
}

// fixture is one flavor's documented examples, with the page they come
// from: the providers' documentation is the oracle.
type fixture struct {
	env, source                  string
	access, id, client, userinfo shape
}

var fixtures = map[config.Flavor]fixture{
	config.FlavorOkta: {
		env: "okta",
		// Okta custom authorization server tokens, as Okta documents them
		// (https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/CustomAS)
		// and as a real org prints them
		// (https://groups.google.com/g/rabbitmq-users/c/O3GdCKf8soM/m/ZsjMcizrAgAJ).
		source: "https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/CustomAS",
		access: shape{claims: map[string]string{"ver": "number", "jti": "string", "iss": "string", "aud": "string", "sub": "string",
			"iat": "number", "exp": "number", "cid": "string", "uid": "string", "scp": "array", "auth_time": "number"},
			absent: []string{"client_id", "scope", "nbf"}},
		id: shape{claims: map[string]string{"sub": "string", "name": "string", "email": "string", "ver": "number", "iss": "string",
			"aud": "string", "iat": "number", "exp": "number", "jti": "string", "amr": "array", "idp": "string",
			"preferred_username": "string", "auth_time": "number", "at_hash": "string"}, typ: "JWT"},
		client: shape{claims: map[string]string{"ver": "number", "jti": "string", "iss": "string", "aud": "string", "sub": "string",
			"iat": "number", "exp": "number", "cid": "string", "scp": "array"}, absent: []string{"uid", "client_id"}},
		userinfo: shape{claims: map[string]string{"sub": "string", "name": "string", "email": "string", "preferred_username": "string"}},
	},
	config.FlavorEntra: {
		env:    "prod",
		source: "https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference",
		access: shape{claims: map[string]string{"aud": "string", "iss": "string", "iat": "number", "nbf": "number", "exp": "number",
			"azp": "string", "name": "string", "oid": "string", "preferred_username": "string", "roles": "array", "groups": "array",
			"scp": "string", "sub": "string", "tid": "string", "ver": "string"}, absent: []string{"client_id", "scope"}, typ: "JWT"},
		// https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
		id: shape{claims: map[string]string{"aud": "string", "iss": "string", "iat": "number", "exp": "number", "nonce": "string",
			"name": "string", "oid": "string", "preferred_username": "string", "sub": "string", "tid": "string", "ver": "string"}, typ: "JWT"},
		// App-only tokens: roles granted to the app, no scp; idtyp when the optional claim is on.
		client: shape{claims: map[string]string{"aud": "string", "iss": "string", "azp": "string", "oid": "string", "sub": "string",
			"tid": "string", "roles": "array", "ver": "string", "idtyp": "string"}, absent: []string{"scp", "scope", "client_id"}, typ: "JWT"},
		// https://learn.microsoft.com/en-us/entra/identity-platform/userinfo
		userinfo: shape{claims: map[string]string{"sub": "string", "name": "string", "email": "string"},
			absent: []string{"groups", "roles", "oid", "preferred_username"}},
	},
	config.FlavorKeycloak: {
		env: "kc",
		// https://www.keycloak.org/docs/latest/securing_apps/#_oidc (endpoints and tokens),
		// example access token: https://docs.walt.id/wallet/api/auth/jwt-oidc/keycloak/api-endpoints
		source: "https://www.keycloak.org/docs/latest/securing_apps/",
		access: shape{claims: map[string]string{"exp": "number", "iat": "number", "jti": "string", "iss": "string", "aud": "string",
			"sub": "string", "typ": "string", "azp": "string", "acr": "string", "realm_access": "object", "resource_access": "object",
			"scope": "string", "email_verified": "bool", "preferred_username": "string", "email": "string", "name": "string"},
			absent: []string{"nbf", "client_id"}, typ: "JWT"},
		id: shape{claims: map[string]string{"exp": "number", "iat": "number", "iss": "string", "aud": "string", "sub": "string",
			"typ": "string", "azp": "string", "at_hash": "string", "acr": "string", "email_verified": "bool", "name": "string",
			"preferred_username": "string", "email": "string"}, typ: "JWT"},
		client: shape{claims: map[string]string{"typ": "string", "azp": "string", "preferred_username": "string", "client_id": "string",
			"realm_access": "object", "scope": "string", "email_verified": "bool"}, typ: "JWT"},
		userinfo: shape{claims: map[string]string{"sub": "string", "email_verified": "bool", "name": "string", "preferred_username": "string", "email": "string"}},
	},
	config.FlavorCognito: {
		env:    "cog",
		source: "https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html",
		access: shape{claims: map[string]string{"sub": "string", "cognito:groups": "array", "iss": "string", "version": "number",
			"client_id": "string", "origin_jti": "string", "event_id": "string", "token_use": "string", "scope": "string",
			"auth_time": "number", "exp": "number", "iat": "number", "jti": "string", "username": "string"},
			absent: []string{"aud", "email", "name", "custom:department", "nbf"}},
		// https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
		id: shape{claims: map[string]string{"sub": "string", "cognito:groups": "array", "email_verified": "bool", "iss": "string",
			"cognito:username": "string", "origin_jti": "string", "aud": "string", "event_id": "string", "token_use": "string",
			"auth_time": "number", "exp": "number", "iat": "number", "email": "string"}, typ: "JWT"},
		client: shape{claims: map[string]string{"sub": "string", "token_use": "string", "scope": "string", "auth_time": "number",
			"iss": "string", "exp": "number", "iat": "number", "version": "number", "jti": "string", "client_id": "string"},
			absent: []string{"aud", "username"}},
		// https://docs.aws.amazon.com/cognito/latest/developerguide/userinfo-endpoint.html
		userinfo: shape{claims: map[string]string{"sub": "string", "email_verified": "bool", "email": "string", "username": "string"}},
	},
	config.FlavorAuth0: {
		env: "a0",
		// https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles and
		// https://auth0.com/docs/get-started/apis/enable-role-based-access-control-for-apis
		source: "https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles",
		access: shape{claims: map[string]string{"iss": "string", "sub": "string", "aud": "array", "iat": "number", "exp": "number",
			"azp": "string", "scope": "string", "permissions": "array"},
			absent: []string{"email", "name", "groups", "nickname", "client_id", "jti"}, typ: "JWT"},
		// https://auth0.com/docs/secure/tokens/id-tokens/id-token-structure
		id: shape{claims: map[string]string{"iss": "string", "sub": "string", "aud": "string", "exp": "number", "iat": "number",
			"name": "string", "email": "string", "nickname": "string"}, typ: "JWT"},
		// https://auth0.com/docs/get-started/authentication-and-authorization-flow/client-credentials-flow
		client: shape{claims: map[string]string{"iss": "string", "sub": "string", "aud": "string", "iat": "number", "exp": "number",
			"azp": "string", "scope": "string", "gty": "string"}, typ: "JWT"},
		userinfo: shape{claims: map[string]string{"sub": "string", "nickname": "string", "name": "string", "email": "string", "email_verified": "bool"}},
	},
	config.FlavorADFS: {
		env: "fs",
		// ADFS 2016+ tokens as Microsoft shows them: access tokens with appid,
		// apptype (client_credentials), authmethod, auth_time as a timestamp
		// string, ver 1.0 and scp; ID tokens with upn and unique_name; the
		// group and role claim types under their JWT names.
		source: "https://learn.microsoft.com/en-us/windows-server/identity/ad-fs/development/ad-fs-openid-connect-oauth-concepts",
		access: shape{claims: map[string]string{"aud": "string", "iss": "string", "iat": "number", "exp": "number", "appid": "string",
			"authmethod": "string", "auth_time": "string", "ver": "string", "scp": "string", "upn": "string", "unique_name": "string",
			"group": "string", "role": "array", "sub": "string"},
			absent: []string{"client_id", "scope", "azp", "jti", "email", "groups", "roles"}, typ: "JWT"},
		id: shape{claims: map[string]string{"aud": "string", "iss": "string", "iat": "number", "exp": "number", "auth_time": "number",
			"nonce": "string", "sub": "string", "upn": "string", "unique_name": "string", "at_hash": "string", "group": "string"},
			absent: []string{"azp", "email", "groups"}, typ: "JWT"},
		client: shape{claims: map[string]string{"aud": "string", "iss": "string", "iat": "number", "exp": "number", "appid": "string",
			"apptype": "string", "ver": "string", "scp": "string"}, absent: []string{"client_id", "upn", "unique_name", "group"}, typ: "JWT"},
		// ADFS's userinfo endpoint returns the subject alone.
		userinfo: shape{claims: map[string]string{"sub": "string"}, absent: []string{"upn", "email", "name", "group"}},
	},
	config.FlavorGeneric: {
		env: "dev",
		// RFC 9068, JWT Profile for OAuth 2.0 Access Tokens: https://www.rfc-editor.org/rfc/rfc9068#section-2.2
		source: "https://www.rfc-editor.org/rfc/rfc9068",
		access: shape{claims: map[string]string{"iss": "string", "exp": "number", "aud": "string", "sub": "string", "client_id": "string",
			"iat": "number", "jti": "string", "scope": "string", "auth_time": "number", "groups": "array", "roles": "array"}, typ: "at+jwt"},
		id: shape{claims: map[string]string{"iss": "string", "sub": "string", "aud": "string", "exp": "number", "iat": "number",
			"auth_time": "number", "nonce": "string", "at_hash": "string", "email": "string", "name": "string"}, typ: "JWT"},
		client: shape{claims: map[string]string{"iss": "string", "exp": "number", "aud": "string", "sub": "string", "client_id": "string",
			"iat": "number", "jti": "string", "scope": "string"}, typ: "at+jwt"},
		userinfo: shape{claims: map[string]string{"sub": "string", "email": "string", "name": "string", "groups": "array"}},
	},
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func (s shape) check(t *testing.T, kind string, claims, header map[string]any) {
	t.Helper()
	for k, want := range s.claims {
		if got := jsonType(claims[k]); claims[k] == nil || got != want {
			t.Errorf("%s: claim %s is %v (%s), want a %s", kind, k, claims[k], got, want)
		}
	}
	for _, k := range s.absent {
		if v, ok := claims[k]; ok {
			t.Errorf("%s: claim %s = %v, which the provider does not send", kind, k, v)
		}
	}
	if header != nil && fmt.Sprint(header["typ"]) != fmt.Sprint(map[bool]any{true: nil, false: s.typ}[s.typ == ""]) {
		t.Errorf("%s: header typ %v, want %q", kind, header["typ"], s.typ)
	}
}

// tokensOf gets every token kind of env: alice's tokens through the code
// grant's claims (Mint), ci's through client_credentials, userinfo over
// HTTP.
func tokensOf(t *testing.T, srv *mockidp.Server, env string) (access, id, client string, userinfo map[string]any) {
	t.Helper()
	ts, err := srv.Mint("alice", env, mockidp.MintOptions{ClientID: "webapp", Nonce: "n-1", Scopes: []string{"openid", "profile", "email"}})
	if err != nil {
		t.Fatal(err)
	}
	cc := clientcredentials.Config{ClientID: "ci", ClientSecret: "ci-secret", TokenURL: srv.Endpoints(env).Token, Scopes: []string{"orders:read"}}
	ct, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.Endpoints(env).UserInfo, nil)
	req.Header.Set("Authorization", "Bearer "+ts.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, resp, &userinfo)
	if resp.StatusCode != 200 {
		t.Fatalf("userinfo: %d %v", resp.StatusCode, userinfo)
	}
	return ts.AccessToken, ts.IDToken, ct.AccessToken, userinfo
}

func TestEveryFlavorShapesTokensAsItsProviderDocuments(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	for _, f := range config.Flavors {
		fx, ok := fixtures[f]
		if !ok {
			t.Errorf("flavor %s has no fixture: add its provider's documented examples", f)
			continue
		}
		t.Run(string(f), func(t *testing.T) {
			t.Logf("oracle: %s", fx.source)
			access, id, client, userinfo := tokensOf(t, srv, fx.env)
			fx.access.check(t, "user access token", claimsOf(t, access), headerOf(t, access))
			fx.id.check(t, "ID token", claimsOf(t, id), headerOf(t, id))
			fx.client.check(t, "client_credentials token", claimsOf(t, client), headerOf(t, client))
			fx.userinfo.check(t, "userinfo", userinfo, nil)
			// go-oidc, configured with nothing but the issuer, verifies the ID token.
			if _, err := verifier(t, srv, fx.env, "webapp", nil).Verify(context.Background(), id); err != nil {
				t.Errorf("go-oidc with issuer %s: %v", srv.Issuer(fx.env), err)
			}
			// Discovery names every claim the ID token and userinfo carry.
			supported := getJSON(t, srv.Endpoints(fx.env).Discovery)["claims_supported"].([]any)
			for _, c := range []map[string]any{claimsOf(t, id), userinfo} {
				for k := range c {
					if !slices.Contains(supported, any(k)) && k != "department" && k != flavor.Auth0Namespace+"department" && k != "custom:department" {
						t.Errorf("claim %s is issued but not in claims_supported", k)
					}
				}
			}
		})
	}
}

// The rules each provider states in prose, beyond claim names and types.
func TestFlavorValuesFollowTheProvidersRules(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	get := func(env string) (a, i, c map[string]any, u map[string]any) {
		access, id, client, ui := tokensOf(t, srv, env)
		return claimsOf(t, access), claimsOf(t, id), claimsOf(t, client), ui
	}
	base := srv.BaseURL()
	t.Run("okta: access sub is the login, uid the 00u id, jti AT. and ID.", func(t *testing.T) {
		a, i, c, _ := get("okta")
		if a["sub"] != "alice@example.com" || a["uid"] != i["sub"] || c["sub"] != "ci" || c["cid"] != "ci" {
			t.Errorf("access %v / id %v / client %v", a, i, c)
		}
		if fmt.Sprint(a["jti"])[:3] != "AT." || fmt.Sprint(i["jti"])[:3] != "ID." || srv.Issuer("okta") != base+"/okta/oauth2/default" {
			t.Errorf("jti %v %v, issuer %s", a["jti"], i["jti"], srv.Issuer("okta"))
		}
	})
	t.Run("entra: tenant issuer, group object ids, app-only roles", func(t *testing.T) {
		a, _, c, _ := get("prod")
		tid := fmt.Sprint(a["tid"])
		env, _ := srv.Config().Environment("prod")
		if srv.Issuer("prod") != base+"/prod/"+tid+"/v2.0" || a["iss"] != srv.Issuer("prod") {
			t.Errorf("issuer %s, tid %s", srv.Issuer("prod"), tid)
		}
		if g := a["groups"].([]any); len(g) != 1 || g[0] != flavor.UUID("group", "prod", "sg-prod-admins") || g[0] == "sg-prod-admins" {
			t.Errorf("groups %v, want object IDs", g)
		}
		if fmt.Sprint(c["roles"]) != "[Orders.Read.All]" || c["idtyp"] != "app" || c["sub"] != c["oid"] || env.Entra == nil {
			t.Errorf("app-only token %v", c)
		}
		if a["scp"] != "openid profile email" {
			t.Errorf("scp %v, want one space-separated string", a["scp"])
		}
	})
	t.Run("keycloak: realm issuer, default and client roles, service account", func(t *testing.T) {
		a, i, c, _ := get("kc")
		if srv.Issuer("kc") != base+"/kc/realms/platform" || i["typ"] != "ID" || a["typ"] != "Bearer" {
			t.Errorf("issuer %s, typ %v/%v", srv.Issuer("kc"), a["typ"], i["typ"])
		}
		roles := fmt.Sprint(a["realm_access"])
		if roles != "map[roles:[admin offline_access uma_authorization default-roles-platform]]" {
			t.Errorf("realm_access %s", roles)
		}
		if ra := a["resource_access"].(map[string]any); fmt.Sprint(ra["orders-api"]) != "map[roles:[orders-admin]]" || ra["account"] == nil {
			t.Errorf("resource_access %v", ra)
		}
		if c["preferred_username"] != "service-account-ci" || c["azp"] != "ci" {
			t.Errorf("service account token %v", c)
		}
	})
	t.Run("cognito: pool issuer, client_id for access, aud for ID", func(t *testing.T) {
		a, i, c, _ := get("cog")
		if ok, _ := regexp.MatchString(`^/cog/us-east-1_[A-Za-z0-9]{9}$`, srv.Issuer("cog")[len(base):]); !ok {
			t.Errorf("issuer %s", srv.Issuer("cog"))
		}
		if a["client_id"] != "webapp" || i["aud"] != "webapp" || a["token_use"] != "access" || i["token_use"] != "id" || c["sub"] != "ci" {
			t.Errorf("access %v id %v client %v", a, i, c)
		}
		if a["origin_jti"] != i["origin_jti"] || a["event_id"] != i["event_id"] || i["custom:department"] != "platform" {
			t.Errorf("tokens of one sign-in differ: %v %v", a, i)
		}
	})
	t.Run("adfs: /adfs issuer and discovery, upn, DOMAIN\\user, one group as a string, appid", func(t *testing.T) {
		a, i, c, _ := get("fs")
		if srv.Issuer("fs") != base+"/fs/adfs" || srv.Endpoints("fs").Discovery != base+"/fs/adfs/.well-known/openid-configuration" {
			t.Errorf("issuer %s, discovery %s", srv.Issuer("fs"), srv.Endpoints("fs").Discovery)
		}
		if i["upn"] != "alice@example.com" || i["unique_name"] != `FS\alice` || a["group"] != "eng-admins" || fmt.Sprint(a["role"]) != "[admin auditor]" {
			t.Errorf("id %v / access %v", i, a)
		}
		if a["appid"] != "webapp" || c["appid"] != "ci" || c["apptype"] != "Confidential" || a["ver"] != "1.0" || a["scp"] != "openid profile email" {
			t.Errorf("access %v / client %v", a, c)
		}
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(a["auth_time"])); err != nil {
			t.Errorf("access auth_time %v is not ADFS's timestamp string: %v", a["auth_time"], err)
		}
	})
	t.Run("auth0: trailing-slash issuer, userinfo audience, permissions, @clients", func(t *testing.T) {
		a, _, c, _ := get("a0")
		iss := srv.Issuer("a0")
		if iss != base+"/a0/" || fmt.Sprint(a["aud"]) != "[authdev "+iss+"userinfo]" || fmt.Sprint(a["permissions"]) != "[admin]" {
			t.Errorf("issuer %s, access %v", iss, a)
		}
		if c["sub"] != "ci@clients" || c["gty"] != "client-credentials" {
			t.Errorf("client token %v", c)
		}
		// The RFC 9068 profile (https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles)
		// and an explicit role -> permissions map.
		ts, err := srv.Mint("alice", "a9", mockidp.MintOptions{ClientID: "webapp"})
		if err != nil {
			t.Fatal(err)
		}
		a9 := claimsOf(t, ts.AccessToken)
		if headerOf(t, ts.AccessToken)["typ"] != "at+jwt" || a9["client_id"] != "webapp" || a9["jti"] == nil ||
			fmt.Sprint(a9["permissions"]) != "[read:users write:users]" {
			t.Errorf("RFC 9068 profile: header %v claims %v", headerOf(t, ts.AccessToken), a9)
		}
		keys := make([]string, 0, len(a))
		for k := range a {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if slices.Contains([]string{"email", "name", "nickname", "department", "groups", "roles"}, k) {
				t.Errorf("unnamespaced profile claim %s in an access token", k)
			}
		}
	})
}
