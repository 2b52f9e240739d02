// Package stacktest starts the stack of `authdev up` for a Go test, as
// idptest does the IdP alone: on loopback with free ports, stopped when the
// test ends. Only tests import it.
package stacktest

import (
	"context"
	"testing"
	"time"

	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/internal/testkit"
)

// Start builds and starts stack.Up(opts) with the proxy and the IdP on
// 127.0.0.1:0. A nil Config is the built-in demo, a nil Store a memory one.
func Start(t testing.TB, opts stack.Options) *stack.Stack {
	t.Helper()
	if opts.Config == nil {
		opts.Config = testkit.DemoConfig(t)
	}
	if opts.Store == nil {
		opts.Store = state.NewMemory()
	}
	opts.ProxyListen, opts.IdPListen = "127.0.0.1:0", "127.0.0.1:0"
	s, err := stack.Up(opts)
	if err != nil {
		t.Fatalf("stacktest: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("stacktest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("stacktest: shutdown: %v", err)
		}
	})
	return s
}
