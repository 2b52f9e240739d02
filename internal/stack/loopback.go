package stack

import (
	"errors"
	"net"
	"strconv"
	"sync"
)

// ListenLoopback is net.Listen, and when addr is the IPv4 loopback also
// the IPv6 loopback on the same port, so that every URL authdev prints works
// with [::1] as with 127.0.0.1 and localhost (which a browser may resolve
// to either). A machine without IPv6, or with that port taken there, gets
// the IPv4 listener alone. what and key name the listener and the setting
// that changes addr in the error when addr is taken.
func ListenLoopback(what, addr, key string) (net.Listener, error) {
	ln, err := listen(what, addr, key)
	if err != nil {
		return nil, err
	}
	tcp, ok := ln.Addr().(*net.TCPAddr)
	if !ok || !tcp.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		return ln, nil
	}
	ln6, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(tcp.Port)))
	if err != nil {
		return ln, nil
	}
	return newDualListener(ln, ln6), nil
}

// dualListener accepts on two listeners; its address is the first's.
type dualListener struct {
	net.Listener
	other  net.Listener
	accept chan accepted
	done   chan struct{}
	once   sync.Once
}

type accepted struct {
	conn net.Conn
	err  error
}

func newDualListener(primary, other net.Listener) *dualListener {
	d := &dualListener{Listener: primary, other: other, accept: make(chan accepted), done: make(chan struct{})}
	go d.serve(primary)
	go d.serve(other)
	return d
}

// serve hands ln's connections, and its errors, to Accept until the
// listener is closed.
func (d *dualListener) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		select {
		case d.accept <- accepted{c, err}:
		case <-d.done:
			if c != nil {
				c.Close()
			}
			return
		}
	}
}

func (d *dualListener) Accept() (net.Conn, error) {
	select {
	case a := <-d.accept:
		return a.conn, a.err
	case <-d.done:
		return nil, net.ErrClosed
	}
}

func (d *dualListener) Close() error {
	err := net.ErrClosed
	d.once.Do(func() {
		close(d.done)
		err = errors.Join(d.Listener.Close(), d.other.Close())
	})
	return err
}
