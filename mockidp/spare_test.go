package mockidp

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
)

// An RSA signature that has to wait for a CPU lends the scheduler a slot
// that never signs (GOMAXPROCS one more than the signatures that may run
// at once), so that requests are read and tokens written while every CPU
// signs; the slot goes back once signatures stop queueing. Its effect on
// the tail latency is measured by `make bench` (idp-rs256, p99 ÷ p50).
func TestQueuedRSASignatureLendsASpareSchedulerSlot(t *testing.T) {
	lent := cpus + 1
	if os.Getenv("GOMAXPROCS") != "" {
		lent = cpus // the user's choice stands
	}
	spare.mu.Lock()
	spare.idle = 20 * time.Millisecond
	spare.mu.Unlock()
	t.Cleanup(func() {
		spare.mu.Lock()
		spare.idle = time.Second
		spare.mu.Unlock()
	})
	cfg, err := config.Parse([]byte("personas:\n  alice: {email: alice@example.com}\nenvironments:\n  rs: {alg: RS256}\n"), "spare.yaml", t.TempDir(),
		config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{Store: state.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	for range cap(s.signing) { // every CPU signs
		s.signing <- struct{}{}
	}
	signed := make(chan error, 1)
	go func() {
		_, err := s.sign(s.envs["rs"].keys.Load().active, "JWT", map[string]any{"sub": "alice"})
		signed <- err
	}()
	waitGOMAXPROCS(t, lent, "while an RSA signature waits for a CPU")
	for range cap(s.signing) {
		<-s.signing
	}
	if err := <-signed; err != nil {
		t.Fatal(err)
	}
	waitGOMAXPROCS(t, cpus, "once signatures stopped queueing")
}

func waitGOMAXPROCS(t *testing.T, want int, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.GOMAXPROCS(0) != want {
		if time.Now().After(deadline) {
			t.Fatalf("GOMAXPROCS is %d %s, want %d (%d signatures at once)", runtime.GOMAXPROCS(0), when, want, cpus)
		}
		time.Sleep(time.Millisecond)
	}
}
