// Package identity is the backend's half of the authdev identity contract:
// it verifies the X-Authdev-Assertion JWT that the authdev proxy adds to
// every upstream request and puts the caller's identity in the request
// context, so a Go backend trusts the signed assertion rather than headers a
// client could have sent itself.
//
// [Claims] is the wire format; [Verifier] checks it against the keys the
// proxy publishes at /.authdev/jwks.json. Package identitytest signs
// assertions for backends' tests.
package identity
