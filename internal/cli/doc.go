// Package cli holds authdev's cobra commands, one file per command, and the
// one place where errors become exit codes. Nothing else imports cobra.
package cli
