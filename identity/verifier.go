package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Why an assertion was refused. Verify wraps one of these with the detail;
// test with errors.Is.
var (
	ErrMissing      = errors.New("no assertion")
	ErrMalformed    = errors.New("malformed assertion")
	ErrAlgorithm    = errors.New("assertion algorithm not allowed")
	ErrUnknownKey   = errors.New("assertion signed with an unknown key")
	ErrSignature    = errors.New("assertion signature invalid")
	ErrIssuer       = errors.New("assertion issuer mismatch")
	ErrAudience     = errors.New("assertion audience mismatch")
	ErrExpired      = errors.New("assertion expired")
	ErrNotYetValid  = errors.New("assertion not yet valid")
	ErrKeySet       = errors.New("assertion keys unavailable")
	ErrMissingClaim = errors.New("assertion lacks a required claim")
)

// Options configure a Verifier. Issuer and Audience are required.
type Options struct {
	// Issuer is the proxy URL that signs the assertions, exactly as
	// `authdev up` prints it, e.g. "https://127.0.0.1:8443".
	Issuer string
	// Audience is the name of the upstream this backend serves in the
	// proxy's config ("app" for `authdev up --upstream URL`).
	Audience string
	// JWKSURL is where the proxy's keys are; default Issuer + JWKSPath.
	JWKSURL string
	// HTTPClient fetches the keys; default a client with a 10 s timeout.
	// Give it authdev's CA (authdev ca print) when the proxy serves HTTPS.
	HTTPClient *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Leeway is the clock skew tolerated on exp, nbf and iat; default 10 s.
	Leeway time.Duration
	// Algorithms are the accepted signature algorithms; default ES256 only.
	// Only public-key algorithms are allowed.
	Algorithms []string
	// MinRefreshInterval is the least time between two key set downloads
	// triggered by unknown kids; default 5 s.
	MinRefreshInterval time.Duration
	// MaxKeyAge is how long a downloaded key set is used before it is
	// downloaded again; default 10 min.
	MaxKeyAge time.Duration
	// CacheSize is how many verified assertions are remembered so that a
	// reused assertion skips the signature check; default 1024, negative
	// disables the cache.
	CacheSize int
	// Logger, when set, records each refused assertion at Info level.
	Logger *slog.Logger
}

// Verifier checks assertions. It is safe for concurrent use; build one per
// process and share it, so the keys are fetched once.
type Verifier struct {
	issuer   string
	audience string
	now      func() time.Time
	leeway   time.Duration
	algs     []jose.SignatureAlgorithm
	keys     *keyCache
	verified *verifiedCache // nil when disabled
	logger   *slog.Logger
}

// New returns a Verifier for assertions from opts.Issuer to opts.Audience.
// It does not contact the proxy: keys are fetched on first use.
func New(opts Options) (*Verifier, error) {
	issuer := strings.TrimSuffix(opts.Issuer, "/")
	if issuer == "" {
		return nil, errors.New("identity: Options.Issuer is empty: set it to the proxy URL that `authdev up` prints")
	}
	if u, err := url.Parse(issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("identity: Options.Issuer %q is not an http(s) URL: set it to the proxy URL that `authdev up` prints", opts.Issuer)
	}
	if opts.Audience == "" {
		return nil, errors.New(`identity: Options.Audience is empty: set it to the upstream name in authdev.yaml ("app" with authdev up --upstream URL)`)
	}
	jwksURL := opts.JWKSURL
	if jwksURL == "" {
		jwksURL = issuer + JWKSPath
	}
	if u, err := url.Parse(jwksURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("identity: Options.JWKSURL %q is not an http(s) URL: use <proxy URL>%s", jwksURL, JWKSPath)
	}
	algs := opts.Algorithms
	if len(algs) == 0 {
		algs = []string{Algorithm}
	}
	v := &Verifier{
		issuer:   issuer,
		audience: opts.Audience,
		now:      opts.Now,
		leeway:   opts.Leeway,
		logger:   opts.Logger,
	}
	for _, a := range algs {
		if !publicKeyAlgorithm(a) {
			return nil, fmt.Errorf("identity: algorithm %q is not allowed: use public-key algorithms such as %s", a, Algorithm)
		}
		v.algs = append(v.algs, jose.SignatureAlgorithm(a))
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.leeway == 0 {
		v.leeway = 10 * time.Second
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	v.keys = &keyCache{
		url:        jwksURL,
		client:     client,
		now:        v.now,
		minRefresh: cmpOr(opts.MinRefreshInterval, 5*time.Second),
		maxAge:     cmpOr(opts.MaxKeyAge, 10*time.Minute),
	}
	switch {
	case opts.CacheSize == 0:
		v.verified = newVerifiedCache(1024)
	case opts.CacheSize > 0:
		v.verified = newVerifiedCache(opts.CacheSize)
	}
	return v, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// publicKeyAlgorithm rejects "none" and the HMAC family: an HS256 assertion
// "signed" with the proxy's public key is the classic key-confusion forgery.
func publicKeyAlgorithm(a string) bool {
	switch jose.SignatureAlgorithm(a) {
	case jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.RS512,
		jose.PS256, jose.PS384, jose.PS512, jose.EdDSA:
		return true
	}
	return false
}

// Issuer is the proxy URL assertions must come from.
func (v *Verifier) Issuer() string { return v.issuer }

// Audience is the upstream name assertions must be addressed to.
func (v *Verifier) Audience() string { return v.audience }

// Verify checks raw, an assertion as found in the X-Authdev-Assertion
// header, and returns the identity it carries. The error wraps one of the
// Err values above. The Identity may be shared between requests that carry
// the same assertion: treat it as read-only.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Identity, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: the request has no %s header: send it through the authdev proxy", ErrMissing, Header)
	}
	if v.verified != nil {
		if id, ok := v.verified.get(raw); ok {
			if err := v.validate(&id.Claims); err != nil {
				return nil, err
			}
			return id, nil
		}
	}
	jws, err := jose.ParseSignedCompact(raw, v.algs)
	if err != nil {
		var alg *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &alg) {
			return nil, fmt.Errorf("%w: %q, want %s", ErrAlgorithm, alg.Got, algList(v.algs))
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	hdr := jws.Signatures[0].Header
	if hdr.KeyID == "" {
		return nil, fmt.Errorf("%w: no kid in the header", ErrMalformed)
	}
	key, err := v.keys.key(ctx, hdr.KeyID)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != "" && key.Algorithm != hdr.Algorithm {
		return nil, fmt.Errorf("%w: key %q is for %s, the assertion says %s", ErrAlgorithm, key.KeyID, key.Algorithm, hdr.Algorithm)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fmt.Errorf("%w: key %q: %v", ErrSignature, key.KeyID, err)
	}
	id := &Identity{Raw: raw, payload: payload}
	if err := json.Unmarshal(payload, &id.Claims); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if err := v.validate(&id.Claims); err != nil {
		return nil, err
	}
	if v.verified != nil {
		v.verified.put(id, v.now(), v.leeway)
	}
	return id, nil
}

func (v *Verifier) validate(c *Claims) error {
	if strings.TrimSuffix(c.Issuer, "/") != v.issuer {
		return fmt.Errorf("%w: %q, want %q: set the backend's issuer to the proxy URL that signed it", ErrIssuer, c.Issuer, v.issuer)
	}
	if !c.Audience.Contains(v.audience) {
		return fmt.Errorf("%w: %q, want %q: set the backend's audience to its upstream name in authdev.yaml", ErrAudience, []string(c.Audience), v.audience)
	}
	if c.Subject == "" {
		return fmt.Errorf("%w: sub", ErrMissingClaim)
	}
	if c.Expiry == nil {
		return fmt.Errorf("%w: exp", ErrMissingClaim)
	}
	now := v.now()
	if exp := c.Expiry.Time(); !now.Before(exp.Add(v.leeway)) {
		return fmt.Errorf("%w: at %s, %s ago", ErrExpired, exp.UTC().Format(time.RFC3339), now.Sub(exp).Round(time.Second))
	}
	if c.NotBefore != nil && now.Add(v.leeway).Before(c.NotBefore.Time()) {
		return fmt.Errorf("%w: not before %s", ErrNotYetValid, c.NotBefore.Time().UTC().Format(time.RFC3339))
	}
	if c.IssuedAt != nil && now.Add(v.leeway).Before(c.IssuedAt.Time()) {
		return fmt.Errorf("%w: issued in the future, at %s: check the clocks", ErrNotYetValid, c.IssuedAt.Time().UTC().Format(time.RFC3339))
	}
	return nil
}

func algList(algs []jose.SignatureAlgorithm) string {
	s := make([]string, len(algs))
	for i, a := range algs {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}
