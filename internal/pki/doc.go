// Package pki is authdev's local certificate authority: one ECDSA P-256 CA,
// created once and kept in the state store, that issues the proxy's TLS
// leaf certificates, and the steps that make browsers and tools trust it.
package pki
