// Package idptest starts a mock IdP for a Go test: on 127.0.0.1 with a
// free port, keys in memory, closed when the test ends.
package idptest

import (
	"fmt"
	"net"
	"testing"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
)

// NewTestServer starts a mock IdP for cfg on 127.0.0.1:0 with a memory
// state store. The issuer of env is srv.Issuer(env). Pass options to inject
// a clock, randomness or a shared store; an empty BaseURL becomes
// http://localhost:<the listener's port>.
func NewTestServer(t testing.TB, cfg *config.Config, opts ...mockidp.Options) *mockidp.Server {
	t.Helper()
	var o mockidp.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Store == nil {
		o.Store = state.NewMemory()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("idptest: listen on loopback: %v", err)
	}
	if o.BaseURL == "" {
		// The listener's port, even when the config sets idp.public_url.
		o.BaseURL = fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
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
