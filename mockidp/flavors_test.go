package mockidp_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/mockidp/idptest"
)

func TestFlavorsShapeClaimsLikeTheRealIdP(t *testing.T) {
	srv := idptest.NewTestServer(t, testConfig(t))
	str := func(v any) string { return fmt.Sprint(v) }
	for _, tc := range []struct {
		name, env string
		sub       *regexp.Regexp
		id        map[string]string // claim -> fmt.Sprint of the value, in the ID token
		access    map[string]string
	}{
		{"okta puts groups and uid in its tokens", "dev", regexp.MustCompile(`^00u[a-z2-7]{17}$`),
			map[string]string{"groups": "[eng-admins]", "preferred_username": "alice@example.com", "department": "platform"},
			map[string]string{"groups": "[eng-admins]", "cid": config.CLIClientID, "scp": "[openid profile email]", "ver": "1"}},
		{"entra has oid, tid, roles and a v2.0 token", "prod", regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`),
			map[string]string{"roles": "[admin]", "groups": "[sg-prod-admins]", "preferred_username": "alice@example.com", "ver": "2.0"},
			map[string]string{"roles": "[admin]", "scp": "openid profile email", "azp": config.CLIClientID}},
		{"keycloak has realm roles and the username", "kc", regexp.MustCompile(`^[0-9a-f-]{36}$`),
			map[string]string{"realm_access": "map[roles:[admin]]", "preferred_username": "alice", "groups": "[eng-admins]"},
			map[string]string{"realm_access": "map[roles:[admin]]", "typ": "Bearer", "azp": config.CLIClientID}},
		{"cognito prefixes groups and marks token use", "cog", regexp.MustCompile(`^[0-9a-f-]{36}$`),
			map[string]string{"cognito:groups": "[eng-admins]", "cognito:username": "alice", "token_use": "id"},
			map[string]string{"cognito:groups": "[eng-admins]", "token_use": "access", "username": "alice"}},
		{"auth0 namespaces custom claims", "a0", regexp.MustCompile(`^auth0\|[0-9a-f]{24}$`),
			map[string]string{config.Auth0Namespace + "groups": "[eng-admins]", config.Auth0Namespace + "roles": "[admin]", config.Auth0Namespace + "department": "platform"},
			map[string]string{config.Auth0Namespace + "groups": "[eng-admins]"}},
		{"generic has groups and mapped roles", "gen", regexp.MustCompile(`^[0-9a-f-]{36}$`),
			map[string]string{"groups": "[eng-admins]", "roles": "[]", "preferred_username": "alice"},
			map[string]string{"groups": "[eng-admins]", "roles": "[]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := srv.Mint("alice", tc.env, mockidp.MintOptions{})
			if err != nil {
				t.Fatal(err)
			}
			id, at := claimsOf(t, ts.IDToken), claimsOf(t, ts.AccessToken)
			if !tc.sub.MatchString(str(id["sub"])) || id["sub"] != at["sub"] {
				t.Errorf("sub %v (access %v), want %s", id["sub"], at["sub"], tc.sub)
			}
			for k, want := range tc.id {
				if got := str(id[k]); got != want {
					t.Errorf("ID token %s = %s, want %s", k, got, want)
				}
			}
			for k, want := range tc.access {
				if got := str(at[k]); got != want {
					t.Errorf("access token %s = %s, want %s", k, got, want)
				}
			}
			// The proxy reads groups where config.GroupsClaim says.
			flavor := srv.Config().Environments[envIndex(srv.Config(), tc.env)].Flavor
			if at[config.GroupsClaim(flavor)] == nil || at["email"] != "alice@example.com" {
				t.Errorf("access token lacks %s or email: %v", config.GroupsClaim(flavor), at)
			}
			again, _ := srv.Mint("alice", tc.env, mockidp.MintOptions{})
			if claimsOf(t, again.IDToken)["sub"] != id["sub"] {
				t.Error("sub is not stable")
			}
			bob, _ := srv.Mint("bob", tc.env, mockidp.MintOptions{})
			if claimsOf(t, bob.IDToken)["sub"] == id["sub"] {
				t.Error("two personas share a sub")
			}
		})
	}
	dev, _ := srv.Mint("alice", "gen", mockidp.MintOptions{})
	kc, _ := srv.Mint("alice", "kc", mockidp.MintOptions{})
	if claimsOf(t, dev.IDToken)["sub"] == claimsOf(t, kc.IDToken)["sub"] {
		t.Error("sub is the same in two environments")
	}
}

func envIndex(cfg *config.Config, name string) int {
	for i, e := range cfg.Environments {
		if e.Name == name {
			return i
		}
	}
	return -1
}
