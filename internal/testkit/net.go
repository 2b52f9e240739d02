package testkit

import (
	"net"
	"testing"
)

// FreeLoopbackAddr is a loopback host:port free at the time of the call,
// for a server a test starts later than the one that must know its URL.
func FreeLoopbackAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
