package backendcheck

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authdev/authdev/identity"
)

const assertionHeader = identity.Header

// claims are genuine claims for p, issued at now.
func (t *Target) claims(p Persona, now time.Time) identity.Claims {
	return identity.Claims{
		Issuer: t.Issuer, Audience: jwt.Audience{t.Audience}, Subject: p.ID, Email: p.Email, Name: p.Name,
		Groups: p.Groups, Roles: p.Roles, Env: p.Env, Persona: p.ID,
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(identity.Lifetime)),
		ID: randomID(),
	}
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sign signs c with key under kid, as the proxy signs its assertions.
func sign(key *ecdsa.PrivateKey, kid string, c identity.Claims) (string, error) {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(s).Claims(c).Serialize()
}

// unsigned builds header.payload with a header of the given alg and kid.
func unsigned(alg, kid string, c identity.Claims) (string, error) {
	h, err := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p), nil
}

// algNone is c with "alg": "none" and no signature (RFC 7519 section 6).
func algNone(kid string, c identity.Claims) (string, error) {
	s, err := unsigned("none", kid, c)
	return s + ".", err
}

// hs256WithPublicKey is the key-confusion forgery: c "signed" with HMAC
// keyed by the proxy's public key in PEM, which anyone can download. A
// verifier that takes the algorithm from the token and feeds the key it
// holds to it accepts this.
func hs256WithPublicKey(key *ecdsa.PublicKey, kid string, c identity.Claims) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return "", err
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	s, err := unsigned("HS256", kid, c)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(s))
	return s + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// newForeignKey is a key the proxy never published.
func newForeignKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("making a foreign key: %w", err)
	}
	return k, nil
}
