// Package adc understands the Citrix ADC (NetScaler) policy language: it
// compiles advanced policy expressions and the supported subset of ns.conf
// once, at load, and evaluates responder, authorization and rewrite policies
// against a request in the order the ADC does.
package adc
