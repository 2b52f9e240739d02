package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// Signer signs assertions with an ES256 key; the proxy holds one per key
// generation and publishes PublicJWK in its key set.
type Signer struct {
	signer jose.Signer
	public jose.JSONWebKey
}

// NewSigner returns a Signer for key, a P-256 private key published under
// kid.
func NewSigner(key *ecdsa.PrivateKey, kid string) (*Signer, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, errors.New("identity: the assertion key must be an ECDSA P-256 key")
	}
	if kid == "" {
		return nil, errors.New("identity: the assertion key needs a kid")
	}
	sig, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return &Signer{
		signer: sig,
		public: jose.JSONWebKey{Key: &key.PublicKey, KeyID: kid, Algorithm: Algorithm, Use: "sig"},
	}, nil
}

// PublicJWK is the verification key to publish at JWKSPath.
func (s *Signer) PublicJWK() jose.JSONWebKey { return s.public }

// Sign returns the compact JWT for c.
func (s *Signer) Sign(c Claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("identity: encoding claims: %w", err)
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("identity: signing assertion: %w", err)
	}
	return jws.CompactSerialize()
}
