package identity_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/identity/identitytest"
)

// FuzzVerifyJWTHeader feeds the assertion verifier compact JWTs whose
// protected header (alg, kid, typ, crit, jwk, …), payload and signature are
// arbitrary. Whatever arrives, Verify must not panic, must fail with one of
// the package's Err values, and must accept nothing but the assertion the
// test proxy really signed.
func FuzzVerifyJWTHeader(f *testing.F) {
	p := identitytest.New(f, "app")
	v := p.Verifier(f, identity.Options{Audience: "app", Now: p.Now})
	good := p.Assertion(f, "alice", "admin")
	parts := strings.SplitN(good, ".", 3)
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add(parts[0], parts[1], parts[2])
	for _, h := range []string{
		`{"alg":"none"}`,
		`{"alg":"HS256","kid":"` + p.KeyID() + `"}`,
		`{"alg":"ES256"}`,
		`{"alg":"ES256","kid":""}`,
		`{"alg":"ES256","kid":"` + p.KeyID() + `","crit":["exp"]}`,
		`{"alg":"ES256","kid":"` + p.KeyID() + `","jwk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}`,
		`{"alg":"RS256","kid":"` + p.KeyID() + `"}`,
		`{"alg":"ES256","kid":"` + strings.Repeat("k", 4096) + `"}`,
		`{"alg":["ES256"],"kid":1}`,
		`{"alg":"ES256","kid":"` + p.KeyID() + `","b64":false,"crit":["b64"]}`,
		`not json`,
		``,
	} {
		f.Add(enc(h), parts[1], parts[2])
	}
	f.Add(parts[0], parts[1], "")
	f.Add("", "", "")
	errs := []error{identity.ErrMissing, identity.ErrMalformed, identity.ErrAlgorithm, identity.ErrUnknownKey, identity.ErrSignature,
		identity.ErrIssuer, identity.ErrAudience, identity.ErrExpired, identity.ErrNotYetValid, identity.ErrKeySet}
	f.Fuzz(func(t *testing.T, header, payload, sig string) {
		raw := header + "." + payload + "." + sig
		id, err := v.Verify(context.Background(), raw)
		if err == nil {
			if raw != good {
				t.Fatalf("accepted an assertion the proxy did not sign: %q (identity %+v)", raw, id.Claims)
			}
			return
		}
		for _, e := range errs {
			if errors.Is(err, e) {
				return
			}
		}
		t.Fatalf("error %q wraps none of the package's Err values", err)
	})
}
