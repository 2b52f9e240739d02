package flavor

import (
	"reflect"
	"testing"

	"github.com/authdev/authdev/config"
)

// The proxy maps what it reads in the groups claim: Entra's object IDs by
// default, names where the environment asks for them or the provider
// sends names.
func TestProxyRolesKeyTheMappingAsTheGroupsClaimNamesGroups(t *testing.T) {
	roles := map[string][]string{"eng-admins": {"admin"}}
	for _, tc := range []struct {
		name string
		env  config.Environment
		want map[string][]string
	}{
		{"entra by object ID", config.Environment{Name: "prod", Flavor: config.FlavorEntra, Roles: roles},
			map[string][]string{UUID("group", "prod", "eng-admins"): {"admin"}}},
		{"entra with group_names", config.Environment{Name: "prod", Flavor: config.FlavorEntra, Roles: roles, Entra: &config.EntraSettings{GroupNames: true}}, roles},
		{"okta by name", config.Environment{Name: "dev", Flavor: config.FlavorOkta, Roles: roles}, roles},
		{"an unknown name is the generic flavor", config.Environment{Name: "dev", Flavor: "nope", Roles: roles}, roles},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Of(tc.env.Flavor).ProxyRoles(&tc.env); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ProxyRoles = %v, want %v", got, tc.want)
			}
		})
	}
	if Of("nope") != &generic {
		t.Error("an unknown flavor is not the generic one")
	}
}
