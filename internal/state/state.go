package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNotFound is returned by Get for a key that was never set.
var ErrNotFound = errors.New("not found in the state store")

// Store holds named secrets. Keys are slash-separated words such as
// "idp/dev/keys".
type Store interface {
	Get(key string) ([]byte, error)
	Set(key string, value []byte) error
	Delete(key string) error
	// Describe names the backend for the banner: "keyring" or "file (path)".
	Describe() string
}

// Backend names accepted by Open and the --state flag.
const (
	BackendAuto    = ""
	BackendKeyring = "keyring"
	BackendFile    = "file"
)

// Options are Open's inputs; zero values use the process's.
type Options struct {
	// Dir is the file store's folder; default $XDG_CONFIG_HOME/authdev
	// (or $AUTHDEV_STATE_DIR when set).
	Dir string
	// Getenv reads the environment; default os.Getenv.
	Getenv func(string) string
	// Service is the keyring service name; default "authdev".
	Service string
}

// Open returns the store for backend: the keyring when forced or when a D-Bus
// session answers, the file store otherwise. It never starts a D-Bus daemon.
func Open(backend string, opts Options) (Store, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Service == "" {
		opts.Service = "authdev"
	}
	if opts.Dir == "" {
		dir, err := DefaultDir(opts.Getenv)
		if err != nil {
			return nil, err
		}
		opts.Dir = dir
	}
	file := NewFile(opts.Dir)
	switch backend {
	case BackendFile:
		return file, nil
	case BackendKeyring, BackendAuto:
		kr, err := openKeyring(opts.Service, file, opts.Getenv)
		if err == nil {
			return kr, nil
		}
		if backend == BackendKeyring {
			return nil, fmt.Errorf("keyring unavailable: %w: start a Secret Service (gnome-keyring) or use --state file", err)
		}
		return file, nil
	default:
		return nil, fmt.Errorf("unknown state backend %q: use keyring or file", backend)
	}
}

// DefaultDir is where the file store lives unless told otherwise.
func DefaultDir(getenv func(string) string) (string, error) {
	if d := getenv("AUTHDEV_STATE_DIR"); d != "" {
		return d, nil
	}
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		var err error
		if base, err = os.UserConfigDir(); err != nil {
			return "", fmt.Errorf("cannot find a config folder for the state store: set XDG_CONFIG_HOME or AUTHDEV_STATE_DIR: %w", err)
		}
	}
	return filepath.Join(base, "authdev"), nil
}

// GetOrCreate returns the value at key, creating and storing it with create
// when the key is absent. Any other read error is returned as is, so an
// unreadable store is never overwritten with fresh secrets.
func GetOrCreate(s Store, key string, create func() ([]byte, error)) ([]byte, error) {
	v, err := s.Get(key)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if v, err = create(); err != nil {
		return nil, err
	}
	if err := s.Set(key, v); err != nil {
		return nil, err
	}
	return v, nil
}
