// Package audit is the vocabulary of what happened at the edge — logins,
// logouts, refused tokens, policy decisions, proxied requests — shared by
// the proxy that records it, the JSON-lines audit log, the TUI that shows it
// and the tests that assert on it. It knows nothing of HTTP servers.
package audit
