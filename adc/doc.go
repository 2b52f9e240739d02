// Package adc understands the Citrix ADC (NetScaler) policy language: it
// compiles advanced policy expressions and the supported subset of ns.conf
// once, at load, and evaluates responder, authorization and rewrite policies
// against a request in the order the ADC does.
//
// Compile turns authdev.yaml's `policies` and `headers` and the ns.conf of
// proxy.adc_config into an Engine; every problem comes back at once as
// config.Errors, each with file:line:col and a caret under the column.
// Engine.Evaluate then decides one request: responder policies first (an
// answer ends evaluation), then authorization (authdev.yaml's policies in
// file order, then the ns.conf's bound policies by priority, honouring
// NEXT, END and goto-priority; no match falls to the default authorization
// action, DENY when the ns.conf sets up AAA-TM, as on the ADC), then the
// YAML headers and rewrite policies.
//
// As on the ADC, keywords are case-blind and comparisons case-sensitive
// unless SET_TEXT_MODE(IGNORECASE); HTTP.REQ.URL is the path and query as
// the client sent them, not decoded; HTTP.REQ.HEADER("x") reads the last
// instance of a repeated header. Regular expressions use Go's RE2 engine, so
// evaluation time is linear in the input.
package adc
