// Package stack composes what `authdev up` runs — the mock IdP, the
// ADC-emulating proxy and, without an upstream, the demo backend — and what
// `authdev proxy` runs alone. It switches persona and environment for the
// TUI (through an adapter in internal/cli: stack knows nothing of the TUI)
// and serves and calls the loopback control endpoint of `authdev as`.
// Reload applies an edited authdev.yaml to the running IdP and proxy (what
// needs a restart is said in a notice); `authdev up` feeds it from
// internal/cfgwatch.
package stack
