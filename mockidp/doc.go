// Package mockidp is authdev's mock OpenID Connect provider: it logs in
// personas from authdev.yaml instead of people, with one issuer, signing key
// and claim flavor per environment.
//
// It is an http.Handler with Start/Close, usable from `authdev idp`, inside
// `authdev up`, and in-process from Go tests (see mockidp/idptest). Time and
// randomness are injected through Options so tests can move the clock.
package mockidp
