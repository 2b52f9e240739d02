// Package backendcheck sends forged identities straight to a backend,
// bypassing the proxy, and judges its answers: a backend behind authdev
// must trust the proxy's signed assertion and nothing else. Each case
// forges one thing (a header, a signature, a claim) on top of an
// assertion the backend accepts, so a refusal can only come from the
// backend noticing the forgery.
package backendcheck
