package rbactest

import (
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/internal/testkit"
)

// BenchmarkStackStartup is what `authdev test` spends before its first
// check and after its last: the IdP and the proxy (with the demo backend)
// listening, and stopped. "warm" has the keys and the CA in the store, as
// on a laptop or a CI cache; "cold" generates them (three RSA keys, a CA).
// "rsa-keys" is the floor of "cold" on the machine: only the RSA-2048 keys
// of the demo's RS256 environments, generated in parallel as the IdP does.
func BenchmarkStackStartup(b *testing.B) {
	cfg := testkit.DemoConfig(b)
	warm := state.NewMemory()
	ip, err := StartInProcess(InProcessOptions{Config: cfg, Store: warm})
	if err != nil {
		b.Fatal(err)
	}
	ip.Close()
	for _, bc := range []struct {
		name  string
		store func() state.Store
	}{
		{"warm", func() state.Store { return warm }},
		{"cold", func() state.Store { return state.NewMemory() }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				ip, err := StartInProcess(InProcessOptions{Config: cfg, Store: bc.store()})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := ip.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
	rsaKeys := 0
	for _, e := range cfg.Environments {
		if e.Alg == "RS256" {
			rsaKeys++
		}
	}
	b.Run("rsa-keys", func(b *testing.B) {
		for b.Loop() {
			var g errgroup.Group
			for range rsaKeys {
				g.Go(func() error {
					_, err := rsa.GenerateKey(rand.Reader, 2048)
					return err
				})
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
