// Package devproxy is the ADC emulation: an http.Handler that does for a
// request what a Citrix ADC with AAA-TM does in front of production — TLS,
// OIDC login with an NSC_TMAS session, bearer tokens for API clients, policy
// decisions, identity headers and a signed assertion for the backend, load
// balancing with health monitors — and records each step as an audit event.
package devproxy
