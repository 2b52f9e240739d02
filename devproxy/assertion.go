package devproxy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authdev/authdev/identity"
)

// assertionMinLife is the life an assertion must have left to be reused:
// the backend never receives one about to expire, and the proxy signs about
// once every 45 s per session and upstream instead of per request.
const assertionMinLife = 15 * time.Second

// assertionAlg is the contract's signature algorithm, as go-jose names it.
const assertionAlg = jose.SignatureAlgorithm(identity.Algorithm)

// NewAssertionKey makes a P-256 key and returns it PKCS#8 PEM encoded, the
// form kept in the state store.
func NewAssertionKey(random io.Reader) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), random)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseAssertionKey reads a key made by NewAssertionKey.
func ParseAssertionKey(pemBytes []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(pemBytes)
	if b == nil {
		return nil, errors.New("assertion key: not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("assertion key: %w", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, errors.New("assertion key: want an ECDSA P-256 key")
	}
	return key, nil
}

type assertionSigner struct {
	issuer string
	kid    string
	signer jose.Signer
	jwks   []byte
	rand   io.Reader
}

func newAssertionSigner(key *ecdsa.PrivateKey, issuer string, random io.Reader) (*assertionSigner, error) {
	if key == nil {
		return nil, errors.New("no assertion signing key: pass Options.AssertionKey")
	}
	pub := jose.JSONWebKey{Key: &key.PublicKey, Algorithm: identity.Algorithm, Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: assertionAlg, Key: jose.JSONWebKey{Key: key, KeyID: pub.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		return nil, err
	}
	return &assertionSigner{issuer: issuer, kid: pub.KeyID, signer: signer, jwks: jwks, rand: random}, nil
}

// signedAssertion is a token with the claims it carries, for the audit
// trail and whoami (which show claims, never the token).
type signedAssertion struct {
	token  string
	claims identity.Claims
	reuse  time.Time // sign a new one from then on
	// header is []string{token}, made once and shared by every request
	// that carries this assertion (http.Header values are only read or
	// replaced; the capacity of 1 makes an append copy).
	header []string
}

func (s *assertionSigner) sign(c *caller, upstream string, now time.Time) (*signedAssertion, error) {
	jti := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, jti); err != nil {
		return nil, err
	}
	claims := identity.Claims{
		Issuer: s.issuer, Audience: jwt.Audience{upstream}, Subject: c.sub, Email: c.email, Name: c.name,
		Groups: c.groups, Roles: c.roles, Env: c.env, Persona: c.persona,
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(identity.Lifetime)),
		ID: base64.RawURLEncoding.EncodeToString(jti),
	}
	// Signed directly rather than through jwt.Signed, whose builder turns
	// the claims into a map and back to JSON.
	payload, err := json.Marshal(&claims)
	if err != nil {
		return nil, fmt.Errorf("sign assertion: %w", err)
	}
	obj, err := s.signer.Sign(payload)
	if err != nil {
		return nil, fmt.Errorf("sign assertion: %w", err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		return nil, fmt.Errorf("sign assertion: %w", err)
	}
	return &signedAssertion{token: tok, claims: claims, reuse: now.Add(identity.Lifetime - assertionMinLife), header: []string{tok}}, nil
}

// assertionKey identifies a cached assertion: one per caller (session or
// bearer token) and upstream, since the audience differs per upstream.
type assertionKey struct {
	caller   string
	upstream string
}

type assertionCache struct {
	signer *assertionSigner
	c      *cache[assertionKey, *signedAssertion]
}

func (a *assertionCache) get(c *caller, upstream string, now time.Time) (*signedAssertion, error) {
	k := assertionKey{c.key, upstream}
	if sa, ok := a.c.get(k, now); ok {
		return sa, nil
	}
	sa, err := a.signer.sign(c, upstream, now)
	if err != nil {
		return nil, err
	}
	a.c.put(k, sa, sa.reuse, now)
	return sa, nil
}
