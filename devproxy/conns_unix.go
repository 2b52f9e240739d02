//go:build unix

package devproxy

import (
	"net"
	"syscall"
)

// stillOpen reports whether an idle connection is still usable: the
// backend has neither closed it nor sent anything unasked. It peeks without
// blocking, one system call.
func stillOpen(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		// Nothing to read is the only good answer: a read of 0 bytes is the
		// backend's close, and bytes are data nobody asked for.
		_, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && open
}
