// Package config loads authdev.yaml: its schema as Go types, defaults,
// ${ENV} expansion, and a strict validation that reports every problem with
// file:line:col. Loading has no side effects; the embedded demo config is
// what runs when no file is given.
package config
