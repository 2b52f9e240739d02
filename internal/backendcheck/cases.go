package backendcheck

import (
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authdev/authdev/identity"
)

// Case names: the genuine request, then one per forgery.
const (
	CaseGenuine         = "genuine"
	CaseSpoofedHeaders  = "spoofed-headers"
	CaseForeignKey      = "foreign-key"
	CaseUnknownKID      = "unknown-kid"
	CaseAlgNone         = "alg-none"
	CaseHS256PublicKey  = "hs256-public-key"
	CaseExpired         = "expired"
	CaseNotYetValid     = "not-yet-valid"
	CaseWrongAudience   = "wrong-audience"
	CaseWrongIssuer     = "wrong-issuer"
	CaseHeadersDisagree = "headers-disagree"
	CaseReplayExpired   = "replay-after-expiry"
)

// forgedIssuer is an issuer no proxy has.
const forgedIssuer = "https://forged-issuer.invalid"

// forgery is a request the backend must refuse: build makes its
// assertion ("" for none) and headers on top of the genuine claims c.
type forgery struct {
	name   string
	forges string
	hint   string
	build  func(r *runner, c identity.Claims) (string, http.Header, error)
}

// signed forges claims only: the signature is the proxy's.
func signed(edit func(r *runner, c *identity.Claims)) func(*runner, identity.Claims) (string, http.Header, error) {
	return func(r *runner, c identity.Claims) (string, http.Header, error) {
		edit(r, &c)
		tok, err := sign(r.t.Key, r.t.KeyID, c)
		return tok, nil, err
	}
}

var forgeries = []forgery{
	{CaseSpoofedHeaders, "identity headers of an allowed persona, no assertion",
		"your backend trusted X-Remote-User without the assertion: verify X-Authdev-Assertion, see examples/fastapi",
		func(r *runner, _ identity.Claims) (string, http.Header, error) {
			return "", r.t.IdentityHeaders(r.allowed), nil
		}},
	{CaseForeignKey, "an assertion signed by another key under the proxy's kid",
		"your backend accepted a signature the proxy's key did not make: verify the signature with the key from <issuer>/.authdev/jwks.json",
		func(r *runner, c identity.Claims) (string, http.Header, error) {
			tok, err := sign(r.foreign, r.t.KeyID, c)
			return tok, nil, err
		}},
	{CaseUnknownKID, "an assertion signed by another key under a kid the JWKS lacks (a foreign key, or one retired past its grace)",
		"your backend accepted a kid the proxy never published: look the key up by kid in the proxy's JWKS and refuse unknown kids",
		func(r *runner, c identity.Claims) (string, http.Header, error) {
			tok, err := sign(r.foreign, "authdev-forged-"+randomID(), c)
			return tok, nil, err
		}},
	{CaseAlgNone, `an assertion with "alg": "none" and no signature`,
		`your backend accepted an unsigned assertion: allow only ES256 (PyJWT: algorithms=["ES256"])`,
		func(r *runner, c identity.Claims) (string, http.Header, error) {
			tok, err := algNone(r.t.KeyID, c)
			return tok, nil, err
		}},
	{CaseHS256PublicKey, "an assertion MACed with HS256 keyed by the proxy's public key",
		"your backend let the token choose its algorithm: allow only ES256, never HMAC with a public key",
		func(r *runner, c identity.Claims) (string, http.Header, error) {
			tok, err := hs256WithPublicKey(&r.t.Key.PublicKey, r.t.KeyID, c)
			return tok, nil, err
		}},
	{CaseExpired, "an assertion that expired five minutes before the leeway",
		"your backend accepted an expired assertion: check exp (never verify_exp=False) with a leeway of seconds",
		signed(func(r *runner, c *identity.Claims) {
			c.IssuedAt = jwt.NewNumericDate(r.now.Add(-10*time.Minute - r.t.Leeway))
			c.Expiry = jwt.NewNumericDate(r.now.Add(-5*time.Minute - r.t.Leeway))
		})},
	{CaseNotYetValid, "an assertion valid only from five minutes after the leeway",
		"your backend accepted an assertion before its nbf/iat: check nbf and iat against the clock",
		signed(func(r *runner, c *identity.Claims) {
			from := r.now.Add(5*time.Minute + r.t.Leeway)
			c.IssuedAt, c.NotBefore = jwt.NewNumericDate(from), jwt.NewNumericDate(from)
			c.Expiry = jwt.NewNumericDate(from.Add(identity.Lifetime))
		})},
	{CaseWrongAudience, "an assertion addressed to another upstream",
		"your backend accepted an assertion for another upstream: check aud against its upstream name (AUTHDEV_AUDIENCE)",
		signed(func(r *runner, c *identity.Claims) { c.Audience = jwt.Audience{r.t.OtherAudience} })},
	{CaseWrongIssuer, "an assertion from another issuer",
		"your backend accepted another issuer: check iss against the proxy URL (AUTHDEV_ISSUER)",
		signed(func(_ *runner, c *identity.Claims) { c.Issuer = forgedIssuer })},
}

// Hints of the cases that are not plain forgeries.
const (
	hintGenuine       = "your backend refused a genuine assertion, so its refusals prove nothing: set its issuer to %s, its audience to %q, and give it authdev's CA (authdev ca print) when the proxy serves HTTPS"
	hintDisagree      = "your backend took the caller from the X-Remote-* headers, not the assertion: read who the caller is from the verified assertion only"
	hintDisagreeRoute = "the route answers a caller without roles as it answers the allowed persona, so it cannot tell: pass --path with a route that needs a role"
	hintReplay        = "your backend accepted an assertion after it expired (a cache of verified tokens?): check exp on every request"
	hintReplayRefused = "the backend refused the assertion while it was valid, so the replay proves nothing: see the genuine case"
	hintNeither       = "the backend neither accepted nor refused (401/403) the request: is the route right (--path)?"
)
