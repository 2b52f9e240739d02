// Package rbactest runs the checks of authdev.yaml through an authdev
// proxy exactly as a client would — a browser session that picks the
// persona at the IdP, or a bearer token from a real code grant — in every
// environment a check names, and reports the outcomes as a table, a matrix
// of differences between environments, JUnit XML or JSON. Record writes
// the observed outcomes back into the config as expectations.
//
// A Target is the proxy: InProcess starts the IdP and the proxy of
// internal/stack for the run; Remote drives a running `authdev up`
// through its control endpoint. Environments run one after another (the
// proxy has one active environment), the checks of one environment in
// parallel.
package rbactest
