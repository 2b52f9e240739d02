package testkit

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// FreeLoopbackAddr is a loopback host:port free at the time of the call,
// for a server a test starts later than the one that must know its URL.
//
// The port is taken below the kernel's ephemeral range when it can be:
// a port from there (what listening on :0 gives) may be handed, before the
// test's server binds it, to any outgoing connection or other test's
// listener, and the server then fails with "address already in use".
func FreeLoopbackAddr(tb testing.TB) string {
	tb.Helper()
	low := ephemeralLow()
	for range 50 {
		port := portFloor + rand.IntN(low-portFloor)
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			ln.Close()
			return ln.Addr().String()
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// portFloor keeps clear of the well-known and registered ports a machine
// or authdev's own defaults (8443, 9400) may use.
const portFloor = 20000

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default 32768 when it cannot be read).
func ephemeralLow() int {
	low := 32768
	if raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(raw)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > portFloor+1000 {
				low = n
			}
		}
	}
	return low
}
