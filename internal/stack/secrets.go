package stack

import (
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/state"
)

// State store keys of the proxy's secrets. Each is created once; an
// unreadable store is an error, never overwritten.
const (
	CookieSecretKey = "proxy/cookie-secret"
	AssertionKeyKey = "proxy/assertion-key"
	ControlTokenKey = "stack/control-token"
)

// Secrets are the proxy's long-lived secrets.
type Secrets struct {
	CookieSecret []byte
	AssertionKey *ecdsa.PrivateKey
	ControlToken string
}

// LoadSecrets reads the proxy's secrets from store, creating the missing
// ones: restarting authdev keeps browser sessions and the assertion key
// that backends cached.
func LoadSecrets(store state.Store, random io.Reader) (*Secrets, error) {
	randomBytes := func(n int) func() ([]byte, error) {
		return func() ([]byte, error) {
			b := make([]byte, n)
			_, err := io.ReadFull(random, b)
			return b, err
		}
	}
	wrap := func(key string, err error) error {
		return fmt.Errorf("read %q from the %s state store: %w", key, store.Describe(), err)
	}
	cookie, err := state.GetOrCreate(store, CookieSecretKey, randomBytes(devproxy.CookieSecretSize))
	if err != nil {
		return nil, wrap(CookieSecretKey, err)
	}
	if len(cookie) != devproxy.CookieSecretSize {
		return nil, fmt.Errorf("state store key %q holds %d bytes, want %d: delete it to start afresh (browser sessions end)", CookieSecretKey, len(cookie), devproxy.CookieSecretSize)
	}
	keyPEM, err := state.GetOrCreate(store, AssertionKeyKey, func() ([]byte, error) { return devproxy.NewAssertionKey(random) })
	if err != nil {
		return nil, wrap(AssertionKeyKey, err)
	}
	key, err := devproxy.ParseAssertionKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("state store key %q: %w: delete it to create a new key", AssertionKeyKey, err)
	}
	token, err := state.GetOrCreate(store, ControlTokenKey, func() ([]byte, error) {
		b, err := randomBytes(32)()
		return []byte(base64.RawURLEncoding.EncodeToString(b)), err
	})
	if err != nil {
		return nil, wrap(ControlTokenKey, err)
	}
	return &Secrets{CookieSecret: cookie, AssertionKey: key, ControlToken: string(token)}, nil
}
