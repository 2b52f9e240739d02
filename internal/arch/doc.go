// Package arch holds the architecture test: it reads the module's import
// graph with `go list` and fails when a package imports what the design
// keeps it apart from (the arrows of docs/ARCHITECTURE.md).
package arch
