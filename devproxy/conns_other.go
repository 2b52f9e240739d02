//go:build !unix

package devproxy

import "net"

// stillOpen cannot peek here: a closed connection shows when it is used,
// and a replayable request is then sent again on a new one.
func stillOpen(net.Conn) bool { return true }
