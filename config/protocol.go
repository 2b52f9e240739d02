package config

import "regexp"

// Flavor is the shape of an environment's tokens, issuer and endpoints:
// which real identity provider the mock IdP imitates there.
type Flavor string

// The flavors, by their names in authdev.yaml.
const (
	FlavorOkta     Flavor = "okta"
	FlavorEntra    Flavor = "entra"
	FlavorKeycloak Flavor = "keycloak"
	FlavorCognito  Flavor = "cognito"
	FlavorAuth0    Flavor = "auth0"
	FlavorADFS     Flavor = "adfs"
	FlavorGeneric  Flavor = "generic"
)

// GrantType is an OAuth grant type by its wire name.
type GrantType string

// The grant types the mock IdP serves.
const (
	GrantAuthorizationCode GrantType = "authorization_code"
	GrantRefreshToken      GrantType = "refresh_token"
	GrantClientCredentials GrantType = "client_credentials"
	GrantDeviceCode        GrantType = "urn:ietf:params:oauth:grant-type:device_code"
	GrantTokenExchange     GrantType = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// Values the schema allows, in the order error messages list them.
var (
	Flavors    = []Flavor{FlavorOkta, FlavorEntra, FlavorKeycloak, FlavorCognito, FlavorAuth0, FlavorADFS, FlavorGeneric}
	GrantTypes = []GrantType{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode, GrantTokenExchange}
)

// OktaSettings shape an Okta custom authorization server.
type OktaSettings struct {
	AuthorizationServer string `yaml:"authorization_server" jsonschema:"default=default,description=The authorization server id in the issuer path /<env>/oauth2/<id>"`
}

// EntraSettings shape a Microsoft Entra ID (v2.0) tenant.
type EntraSettings struct {
	TenantID   string `yaml:"tenant_id" jsonschema:"description=The tenant GUID in the issuer /<env>/<tenant>/v2.0; default a stable GUID derived from the environment name"`
	GroupNames bool   `yaml:"group_names" jsonschema:"description=Put group names in the groups claim instead of object IDs (Entra's cloud_displayname option)"`
	AppIDType  bool   `yaml:"idtyp_app" jsonschema:"description=Add idtyp: app to app-only (client_credentials) tokens, as the idtyp optional claim does"`
}

// KeycloakSettings shape a Keycloak realm.
type KeycloakSettings struct {
	Realm       string                         `yaml:"realm" jsonschema:"description=The realm in the issuer /<env>/realms/<realm>; default the environment name"`
	ClientRoles map[string]map[string][]string `yaml:"client_roles" jsonschema:"description=client id -> IdP group -> client roles, put in resource_access.<client>.roles"`
}

// CognitoSettings shape an Amazon Cognito user pool.
type CognitoSettings struct {
	UserPoolID string `yaml:"user_pool_id" jsonschema:"description=<region>_<id> as in the issuer path; default us-east-1_ and a stable id derived from the environment name"`
}

// Auth0Settings shape an Auth0 tenant with an API that has RBAC on.
type Auth0Settings struct {
	Permissions map[string][]string `yaml:"permissions" jsonschema:"description=role -> permissions put in the permissions claim; default each role is its own permission"`
	RFC9068     bool                `yaml:"rfc9068" jsonschema:"description=Issue access tokens in Auth0's RFC 9068 profile (typ at+jwt, client_id, jti)"`
}

var (
	tenantIDRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	userPoolIDRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]_[A-Za-z0-9]+$`)
)

// validateFlavorSettings checks the provider block of e: only its own
// flavor's, with values shaped as the provider's are.
func validateFlavorSettings(errs *Errors, pos Pos, e *Environment) {
	set := map[Flavor]bool{FlavorOkta: e.Okta != nil, FlavorEntra: e.Entra != nil, FlavorKeycloak: e.Keycloak != nil,
		FlavorCognito: e.Cognito != nil, FlavorAuth0: e.Auth0 != nil}
	for _, f := range Flavors {
		if set[f] && f != e.Flavor {
			errs.add(pos, "environment %q sets %s settings but its flavor is %s: remove the %s block or set `flavor: %s`", e.Name, f, e.Flavor, f, f)
		}
	}
	if s := e.Entra; s != nil && s.TenantID != "" && !tenantIDRE.MatchString(s.TenantID) {
		errs.add(pos, "environment %q entra.tenant_id %q is not a lowercase GUID: write it like 72f988bf-86f1-41af-91ab-2d7cd011db47", e.Name, s.TenantID)
	}
	if s := e.Keycloak; s != nil && s.Realm != "" && !nameRE.MatchString(s.Realm) {
		errs.add(pos, "environment %q keycloak.realm %q must be letters, digits, '.', '_' or '-' (it becomes the issuer path)", e.Name, s.Realm)
	}
	if s := e.Cognito; s != nil && s.UserPoolID != "" && !userPoolIDRE.MatchString(s.UserPoolID) {
		errs.add(pos, "environment %q cognito.user_pool_id %q is not <region>_<id>: write it like eu-west-1_AbCdEf123", e.Name, s.UserPoolID)
	}
}

// names turns typed protocol names into the strings error messages list.
func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
