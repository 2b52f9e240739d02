package testkit

import (
	"testing"
	"time"
)

// WaitTimeout is how long WaitFor waits: long enough for a loaded CI
// machine, short enough that a broken test fails in one run.
const WaitTimeout = 10 * time.Second

// WaitFor polls cond until it holds, failing the test with what it waited
// for after WaitTimeout. It starts polling at once and backs off to 50 ms,
// so a condition that holds soon costs little.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", WaitTimeout, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}
