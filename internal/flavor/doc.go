// Package flavor is the table of claim flavors: for each identity provider
// the mock IdP imitates (Okta, Entra ID, Keycloak, Cognito, Auth0, and a
// generic RFC 9068 shape), where its issuer and endpoints live, how it
// names users, and which claims it puts in access tokens, ID tokens,
// client_credentials tokens and userinfo. mockidp issues what a Spec says;
// the proxy's wiring reads a Spec's groups and user-name claims.
//
// Adding a flavor is a file here with its Spec in the specs table, its
// name in config's Flavor block and schema enum, and a fixture test.
package flavor
