package testkit

import (
	"testing"
	"time"
)

// WaitTimeout is how long the polling helpers wait: long enough for a
// loaded CI machine, short enough that a broken test fails in one run.
const WaitTimeout = 10 * time.Second

// Eventually polls cond until it holds or timeout passes, and reports
// whether it held. It polls at once and backs off to 50 ms, so a condition
// that holds soon costs little. A cond that must stop early (the process it
// waits for ended) records why and returns true.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
	return true
}

// WaitFor is Eventually that fails the test, naming what it waited for.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !Eventually(WaitTimeout, cond) {
		t.Fatalf("waited %s for %s", WaitTimeout, what)
	}
}
