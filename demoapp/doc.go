// Package demoapp is the backend `authdev up` serves when no upstream is
// configured: a page (HTML, or JSON on request) that shows who the proxy
// says you are — the verified assertion's claims, the identity headers and
// every other header that arrived — so a new user sees what their own
// backend would receive. It verifies the assertion exactly as a real backend
// does, with package identity against the proxy's JWKS.
package demoapp
