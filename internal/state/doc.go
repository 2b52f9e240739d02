// Package state keeps authdev's long-lived secrets — signing keys, the local
// CA, the cookie secret, the control token — in the OS keyring when one
// answers, or in 0600 files under the user's config folder otherwise.
//
// Values too large for a keyring item (Windows and macOS cap them near 2.5 KB)
// are sealed with AES-GCM and written to the file store; the keyring holds the
// sealing key and a marker, so the secret material never sits on disk in the
// clear. Splitting into chunks was rejected: a crash between chunk writes
// leaves a torn value that no reader can detect.
package state
