package state

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zalando/go-keyring"
)

// maxKeyringValue is the largest value kept in the keyring itself, before
// base64: Windows caps an item at 2,560 bytes and macOS near 3,000.
const maxKeyringValue = 1800

// sealedMarker in the keyring means "the value is sealed in the file store".
const sealedMarker = "sealed:v1"

// sealKeyName is the keyring item holding the AES key for sealed values.
const sealKeyName = "state/seal-key"

// KeyringStore keeps values in the OS keyring, and values too large for it
// sealed in a file store.
type KeyringStore struct {
	service string
	files   *FileStore
}

// openKeyring returns a keyring store after checking that a Secret Service
// answers. Without DBUS_SESSION_BUS_ADDRESS it refuses at once: godbus would
// otherwise run dbus-launch and leave a daemon behind.
func openKeyring(service string, files *FileStore, getenv func(string) string) (*KeyringStore, error) {
	if getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return nil, errors.New("no D-Bus session (DBUS_SESSION_BUS_ADDRESS is empty)")
	}
	probe := make(chan error, 1)
	go func() {
		_, err := keyring.Get(service, "state/probe")
		probe <- err
	}()
	select {
	case err := <-probe:
		if err != nil && !errors.Is(err, keyring.ErrNotFound) {
			return nil, err
		}
	case <-time.After(3 * time.Second):
		return nil, errors.New("the Secret Service did not answer within 3s")
	}
	return &KeyringStore{service: service, files: files}, nil
}

// Describe implements Store.
func (k *KeyringStore) Describe() string { return "keyring (service " + k.service + ")" }

// Get implements Store.
func (k *KeyringStore) Get(key string) ([]byte, error) {
	s, err := keyring.Get(k.service, key)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: cannot read %q: %w", key, err)
	}
	if s == sealedMarker {
		return k.unseal(key)
	}
	return base64.StdEncoding.DecodeString(s)
}

// Set implements Store.
func (k *KeyringStore) Set(key string, value []byte) error {
	if len(value) <= maxKeyringValue {
		if err := keyring.Set(k.service, key, base64.StdEncoding.EncodeToString(value)); err != nil {
			return fmt.Errorf("keyring: cannot write %q: %w", key, err)
		}
		return k.files.Delete(sealedName(key))
	}
	sealed, err := k.seal(value)
	if err != nil {
		return err
	}
	if err := k.files.Set(sealedName(key), sealed); err != nil {
		return err
	}
	return keyring.Set(k.service, key, sealedMarker)
}

// Delete implements Store.
func (k *KeyringStore) Delete(key string) error {
	if err := keyring.Delete(k.service, key); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return err
	}
	return k.files.Delete(sealedName(key))
}

func sealedName(key string) string { return "sealed/" + strings.TrimPrefix(key, "/") }

func (k *KeyringStore) aead() (cipher.AEAD, error) {
	raw, err := keyring.Get(k.service, sealKeyName)
	var key []byte
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		key = make([]byte, 32)
		rand.Read(key)
		if err := keyring.Set(k.service, sealKeyName, base64.StdEncoding.EncodeToString(key)); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		if key, err = base64.StdEncoding.DecodeString(raw); err != nil {
			return nil, fmt.Errorf("keyring: sealing key is corrupt: %w", err)
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (k *KeyringStore) seal(value []byte) ([]byte, error) {
	a, err := k.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, a.NonceSize())
	rand.Read(nonce)
	return a.Seal(nonce, nonce, value, nil), nil
}

func (k *KeyringStore) unseal(key string) ([]byte, error) {
	sealed, err := k.files.Get(sealedName(key))
	if err != nil {
		return nil, fmt.Errorf("keyring: %q is sealed in the file store but unreadable: %w", key, err)
	}
	a, err := k.aead()
	if err != nil {
		return nil, err
	}
	if len(sealed) < a.NonceSize() {
		return nil, fmt.Errorf("keyring: sealed value %q is truncated", key)
	}
	v, err := a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], nil)
	if err != nil {
		return nil, fmt.Errorf("keyring: sealed value %q fails authentication (tampered, or sealed by another keyring): %w", key, err)
	}
	return v, nil
}
