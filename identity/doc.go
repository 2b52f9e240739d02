// Package identity is the backend's half of the authdev identity contract:
// it verifies the X-Authdev-Assertion JWT that the authdev proxy adds to
// every upstream request and puts the caller's identity in the request
// context, so a Go backend trusts the signed assertion rather than headers a
// client could have sent itself.
//
// The proxy signs assertions with [Signer]; backends verify them with
// [Verifier], whose keys come from the proxy's /.authdev/jwks.json.
package identity
