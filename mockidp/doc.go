// Package mockidp is authdev's mock OpenID Connect provider: it logs in
// personas from authdev.yaml instead of people, with one issuer, signing key
// and claim flavor per environment.
//
// It is an http.Handler with Start/Close, usable from `authdev idp`, inside
// `authdev up`, and in-process from Go tests (mockidp/idptest starts one on
// 127.0.0.1:0). Time and randomness are injected through Options so tests
// can move the clock.
//
// Each environment answers as one issuer whose path and endpoint names
// come from its flavor (internal/flavor): BaseURL/env for the generic
// flavor, BaseURL/env/oauth2/default for okta, and so on. Every issuer
// serves discovery (also under RFC 8414's name and path-inserted forms, and
// at /env/.well-known/openid-configuration), the code flow with a persona
// picker, login_hint, prompt and max_age; the token endpoint with
// authorization_code, refresh_token, client_credentials, device_code (RFC
// 8628) and token exchange (RFC 8693); userinfo, JWKS, introspection for
// confidential clients, revocation, logout and the device flow. Under
// Options.TLS it serves HTTPS.
//
// Each environment is also a SAML 2.0 IdP (crewjam/saml) at BaseURL/env/saml/:
// metadata, sso (HTTP-Redirect and HTTP-POST), slo and idp-initiated, for
// the service providers of idp.saml and the built-in proxy (entity id
// config.ProxySAMLEntityID); its key and certificate live under
// SAMLKeysStoreKey(env), made at the first SAML request and rotated with
// the OIDC keys.
//
// Two clients exist without configuration: authdev-proxy (confidential;
// its secret lives in the state store under ProxyClientSecretKey) and
// authdev-cli (public, PKCE, any loopback redirect). Signing keys live in
// the state store under KeysStoreKey(env); a started server re-reads them
// every Options.KeyReload, which is how `authdev keys rotate` reaches it.
//
// Access and ID tokens are self-contained JWTs and never stored; codes,
// sessions, refresh tokens and device grants live in bounded stores that
// expire, so memory stays flat however many tokens are issued.
package mockidp
