// Package identitytest stands in for the authdev proxy's signing half in
// tests of backends: it serves a key set over httptest and signs assertions,
// so a test can exercise identity.Verifier, the demo backend or an app
// without running authdev.
package identitytest

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authdev/authdev/identity"
)

// Proxy publishes a key set at its URL + identity.JWKSPath and signs
// assertions with the newest key. Its URL is the issuer.
type Proxy struct {
	Server   *httptest.Server
	Audience string
	// Now is the clock Claims stamps iat and exp from.
	Now func() time.Time

	fetches atomic.Int64
	mu      sync.Mutex
	keys    []signingKey
}

type signingKey struct {
	key *ecdsa.PrivateKey
	kid string
}

// New starts a Proxy whose assertions are addressed to audience; the test's
// cleanup stops it.
func New(t testing.TB, audience string) *Proxy {
	t.Helper()
	p := &Proxy{Audience: audience, Now: time.Now}
	p.Rotate(t)
	p.Server = httptest.NewServer(http.HandlerFunc(p.serveJWKS))
	t.Cleanup(p.Server.Close)
	return p
}

// Verifier is an identity.Verifier that trusts p: opts with the issuer, and
// the audience when empty, taken from p. Options New refuses fail the test.
func (p *Proxy) Verifier(t testing.TB, opts identity.Options) *identity.Verifier {
	t.Helper()
	opts.Issuer = p.URL()
	opts.Audience = cmp.Or(opts.Audience, p.Audience)
	v, err := identity.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (p *Proxy) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != identity.JWKSPath {
		http.NotFound(w, r)
		return
	}
	p.fetches.Add(1)
	p.mu.Lock()
	var set jose.JSONWebKeySet
	for _, k := range p.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.key.PublicKey, KeyID: k.kid, Algorithm: identity.Algorithm, Use: "sig"})
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

// URL is the issuer of the assertions.
func (p *Proxy) URL() string { return p.Server.URL }

// JWKSURL is where the keys are.
func (p *Proxy) JWKSURL() string { return p.Server.URL + identity.JWKSPath }

// Fetches counts the key set downloads served so far.
func (p *Proxy) Fetches() int { return int(p.fetches.Load()) }

// Rotate adds a new signing key, published beside the old ones; assertions
// are signed with it from now on.
func (p *Proxy) Rotate(t testing.TB) {
	t.Helper()
	key := NewKey(t)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, signingKey{key, fmt.Sprintf("test-%d", len(p.keys)+1)})
}

// Key is the current signing key.
func (p *Proxy) Key() *ecdsa.PrivateKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[len(p.keys)-1].key
}

// KeyID is the kid of the current signing key.
func (p *Proxy) KeyID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[len(p.keys)-1].kid
}

// Claims returns valid claims for persona holding roles, issued now.
func (p *Proxy) Claims(persona string, roles ...string) identity.Claims {
	now := p.Now()
	return identity.Claims{
		Issuer:   p.URL(),
		Audience: jwt.Audience{p.Audience},
		Subject:  persona,
		Email:    persona + "@example.com",
		Name:     persona,
		Groups:   []string{"group-" + persona},
		Roles:    roles,
		Env:      "dev",
		Persona:  persona,
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(identity.Lifetime)),
		ID:       fmt.Sprintf("jti-%s-%d", persona, now.UnixNano()),
	}
}

// Sign signs c with the current key.
func (p *Proxy) Sign(t testing.TB, c identity.Claims) string {
	t.Helper()
	p.mu.Lock()
	k := p.keys[len(p.keys)-1]
	p.mu.Unlock()
	return Sign(t, k.key, k.kid, c)
}

// Assertion is a valid assertion for persona holding roles.
func (p *Proxy) Assertion(t testing.TB, persona string, roles ...string) string {
	t.Helper()
	return p.Sign(t, p.Claims(persona, roles...))
}

// NewKey returns a fresh P-256 key.
func NewKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Sign signs c with key under kid, as the proxy does; with a key of one's
// own it forges an assertion.
func Sign(t testing.TB, key *ecdsa.PrivateKey, kid string, c identity.Claims) string {
	t.Helper()
	sig, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
