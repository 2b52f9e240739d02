package devproxy

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// sealer encrypts and authenticates cookie values with AES-256-GCM. The
// cookie's name is the additional data, so a value sealed for one cookie
// (the login state) is refused as another (the session).
type sealer struct {
	aead cipher.AEAD
	rand io.Reader
}

// CookieSecretSize is the length of Options.CookieSecret.
const CookieSecretSize = 32

func newSealer(secret []byte, random io.Reader) (*sealer, error) {
	if len(secret) != CookieSecretSize {
		return nil, fmt.Errorf("cookie secret is %d bytes, want %d: delete it from the state store to create a new one", len(secret), CookieSecretSize)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, rand: random}, nil
}

var errBadCookie = errors.New("the cookie was not made by this proxy, or was altered")

func (s *sealer) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	ns := s.aead.NonceSize()
	buf := make([]byte, ns, ns+len(plain)+s.aead.Overhead())
	if _, err := io.ReadFull(s.rand, buf); err != nil {
		return "", fmt.Errorf("read random nonce: %w", err)
	}
	buf = s.aead.Seal(buf, buf[:ns], plain, []byte(name))
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

func (s *sealer) open(name, value string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	ns := s.aead.NonceSize()
	if err != nil || len(raw) < ns+s.aead.Overhead() {
		return errBadCookie
	}
	plain, err := s.aead.Open(raw[ns:ns], raw[:ns], raw[ns:], []byte(name))
	if err != nil {
		return errBadCookie
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return errBadCookie
	}
	return nil
}
