package mockidp

import (
	"os"
	"runtime"
	"sync"
	"time"
)

// cpus is how many signatures run at once: the scheduler's slots (Ps) as
// the process started, that is the CPUs or the container's CPU limit.
var cpus = runtime.GOMAXPROCS(0)

// spareSlot lends the Go scheduler a slot (P) beyond cpus while RSA
// signatures queue for the CPUs, and takes it back once they have not
// queued for idle.
//
// An RSA-2048 signature holds a CPU for a millisecond or more. When every
// slot signs, each signer hands its slot straight to the next waiting one,
// and the runtime looks at the network only when no goroutine is ready to
// run or when its monitor thread does (every 10 ms): requests that arrived,
// and tokens ready to go, wait unseen, and p99 rose to 4-9× p50 over the
// wire. With a slot that never signs, requests are read and tokens written
// as they come. The slot is lent only while signatures queue: at other
// times a slot more than the CPUs only adds contention (ES256 tokens, a
// fraction of the work, came 20% slower with it). GOMAXPROCS set by the
// user is left alone.
type spareSlot struct {
	idle time.Duration

	mu     sync.Mutex
	lent   bool
	queued time.Time // the last time a signature queued
}

var spare = &spareSlot{idle: time.Second}

// need is called by a signer that found every CPU signing.
func (sp *spareSlot) need() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.queued = time.Now()
	if !sp.lent {
		sp.lent = true
		runtime.GOMAXPROCS(cpus + 1)
		time.AfterFunc(sp.idle, sp.takeBack)
	}
}

// takeBack returns the scheduler to its default once signatures have not
// queued for idle, and looks again later if they have.
func (sp *spareSlot) takeBack() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if wait := sp.idle - time.Since(sp.queued); wait > 0 {
		time.AfterFunc(wait, sp.takeBack)
		return
	}
	sp.lent = false
	runtime.SetDefaultGOMAXPROCS()
}
