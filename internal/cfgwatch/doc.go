// Package cfgwatch watches authdev.yaml while `authdev up` runs: when the
// file changes it loads it again, says what changed, and hands the new
// config to whoever applies it. A file that no longer loads leaves the
// running config alone and is reported with its file:line.
package cfgwatch
