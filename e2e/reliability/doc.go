// Package reliability holds authdev's reliability suite, run by `make test`
// (with the end-to-end tests, so not under -race): a soak of authenticated
// requests through the proxy while the IdP rotates keys and the persona
// changes, fault injection (an upstream killed and restarted under load, a
// slow upstream, the IdP down, clients that hang up mid-stream) and hostile
// input on the wire (smuggling, obs-fold, oversized headers, JWKS with
// duplicate kids, CSRF at the control endpoint). Everything runs in this
// process on loopback and stops by itself; goleak checks that nothing is
// left running. bench/RELIABILITY.md maps each case to its test, here or in
// the packages that already cover it.
package reliability
