// Package oidcgrant obtains tokens from an OpenID Connect provider the way
// a native app does — authorization code with PKCE, the persona named by
// login_hint, the code read from the redirect's Location header without
// following it — so `authdev token` and `authdev test` get real tokens
// through the IdP's real endpoints, not minted ones.
package oidcgrant
