// Package idptest starts a mock IdP for a Go test: on 127.0.0.1 with a
// free port, keys in memory, closed when the test ends.
package idptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
)

// NewTestServer starts a mock IdP for cfg on 127.0.0.1:0 with a memory
// state store. The issuer of env is srv.Issuer(env). Pass options to inject
// a clock, randomness, a shared store or TLS; an empty BaseURL becomes
// http(s)://localhost:<the listener's port>. Environments whose store has
// no signing key yet get a pre-generated one, so tests do not wait for RSA
// key generation.
func NewTestServer(t testing.TB, cfg *config.Config, opts ...mockidp.Options) *mockidp.Server {
	t.Helper()
	var o mockidp.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Store == nil {
		o.Store = state.NewMemory()
	}
	if err := SeedKeys(o.Store, cfg); err != nil {
		t.Fatalf("idptest: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("idptest: listen on loopback: %v", err)
	}
	if o.BaseURL == "" {
		// The listener's port, even when the config sets idp.public_url.
		scheme := "http"
		if o.TLS != nil {
			scheme = "https"
		}
		o.BaseURL = fmt.Sprintf("%s://localhost:%d", scheme, ln.Addr().(*net.TCPAddr).Port)
	}
	srv, err := mockidp.New(cfg, o)
	if err != nil {
		ln.Close()
		t.Fatalf("idptest: %v", err)
	}
	if err := srv.Start(ln); err != nil {
		ln.Close()
		t.Fatalf("idptest: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

//go:embed testdata/keys.pem
var keysPEM []byte

// testKeys are the pre-generated keys, by algorithm, parsed once.
var testKeys = sync.OnceValues(func() (map[string][]crypto.Signer, error) {
	out := map[string][]crypto.Signer{}
	for rest := keysPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return out, nil
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pre-generated test key: %w", err)
		}
		alg := "RS256"
		if _, ok := k.(*ecdsa.PrivateKey); ok {
			alg = "ES256"
		}
		out[alg] = append(out[alg], k.(crypto.Signer))
	}
})

// SeedKeys gives every environment of cfg that has no signing key in store
// one of the pre-generated test keys of its algorithm, a different one per
// environment. The keys are public: never use them outside tests.
func SeedKeys(store state.Store, cfg *config.Config) error {
	keys, err := testKeys()
	if err != nil {
		return err
	}
	for i, e := range cfg.Environments {
		if _, err := store.Get(mockidp.KeysStoreKey(e.Name)); !errors.Is(err, state.ErrNotFound) {
			continue
		}
		pool := keys[e.Alg]
		if len(pool) == 0 {
			continue
		}
		if err := mockidp.ImportKey(store, cfg, e.Name, pool[i%len(pool)], time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// Config parses an authdev.yaml given as text, failing the test on error:
// a short way to give a test its own personas and clients.
func Config(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml", t.TempDir(), config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("idptest: config: %v", err)
	}
	return cfg
}
