package mockidp

import (
	"net"
	"os"
	"runtime"
	"testing"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
)

// A server that serves the network leaves the scheduler a slot that never
// signs: GOMAXPROCS is one more than the signatures that may run at once
// (unless the user set GOMAXPROCS), so that requests are read and tokens
// written while every CPU signs. Its effect on the tail latency is measured
// by `make bench` (idp-rs256, p99 ÷ p50).
func TestStartLeavesASpareSchedulerSlot(t *testing.T) {
	cfg, err := config.Parse([]byte("personas:\n  alice: {email: alice@example.com}\nenvironments:\n  dev: {alg: ES256}\n"), "spare.yaml", t.TempDir(),
		config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{Store: state.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ln); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := cpus + 1
	if os.Getenv("GOMAXPROCS") != "" {
		want = cpus // the user's choice stands
	}
	if got := runtime.GOMAXPROCS(0); got != want || cap(s.signing) != cpus {
		t.Errorf("GOMAXPROCS %d with %d signatures at once, want %d with %d", got, cap(s.signing), want, cpus)
	}
}
