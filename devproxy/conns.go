package devproxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"sync"
	"syscall"
	"time"
)

// connPool sends bodyless requests to one plain-HTTP target over kept-alive
// HTTP/1.1 connections, in the goroutine of the request: it writes the
// request and reads the response itself. http.Transport hands every round
// trip to a writer and a reader goroutine of the connection and back, and
// on loopback those hand-offs are a large part of what a proxy costs (see
// BenchmarkProxyAuthenticated against BenchmarkBareReverseProxy). The HTTP
// itself stays net/http's: Request.Write and ReadResponse. Requests with a
// body, upgrades and TLS targets keep using http.Transport, which writes a
// body while it reads an early answer.
type connPool struct {
	addr    string
	timeout time.Duration // for the response headers, as ResponseHeaderTimeout
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)

	mu     sync.Mutex
	idle   []*backendConn // the most recently used last
	closed bool
}

type backendConn struct {
	net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
}

const (
	// maxIdlePerTarget matches the transport's MaxIdleConnsPerHost.
	maxIdlePerTarget = 256
	// idleConnTimeout is the transport's IdleConnTimeout.
	idleConnTimeout = 90 * time.Second
	// checkIdleAfter: a connection idle for longer is checked for a close
	// by the backend (keep-alive timeouts, restarts) before it is used.
	// Under load connections are reused within microseconds and never are.
	checkIdleAfter = time.Second
)

func newConnPool(addr string, timeout time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *connPool {
	return &connPool{addr: addr, timeout: timeout, dial: dial}
}

// pooled reports whether the pool can carry req: no body to stream while
// the answer may already come, and no protocol upgrade.
func pooled(req *http.Request) bool {
	return (req.Body == nil || req.Body == http.NoBody) && req.Header["Upgrade"] == nil
}

// roundTrip sends req on an idle connection, or a new one. A reused
// connection the backend closed meanwhile fails before any answer arrives;
// a replayable request is then sent again, as http.Transport does, on a
// new connection: the other idle ones may be as stale (a restarted
// backend closed them all). A request that cannot be sent again checks
// its connection first.
func (p *connPool) roundTrip(req *http.Request, got1xx func(int, textproto.MIMEHeader) error) (*http.Response, error) {
	replay := replayable(req)
	c, reused, err := p.get(req.Context(), !replay)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(c, req, got1xx)
	if err == nil {
		return resp, nil
	}
	c.Close()
	if !reused || !replay || !nothingReceived(err) || req.Context().Err() != nil {
		return nil, err
	}
	if c, err = p.dialConn(req.Context()); err != nil {
		return nil, err
	}
	if resp, err = p.send(c, req, got1xx); err != nil {
		c.Close()
	}
	return resp, err
}

func (p *connPool) send(c *backendConn, req *http.Request, got1xx func(int, textproto.MIMEHeader) error) (*http.Response, error) {
	ctx := req.Context()
	// A client that goes away aborts the wait and the body, as with
	// http.Transport; until the body is closed.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	resp, err := p.exchange(c, req, got1xx)
	if err != nil {
		stop()
		return nil, ctxErr(ctx, err)
	}
	resp.Body = &pooledBody{ReadCloser: resp.Body, c: c, pool: p, resp: resp, stop: stop, done: resp.Body == http.NoBody}
	return resp, nil
}

// exchange writes req on c and reads the answer's header.
func (p *connPool) exchange(c *backendConn, req *http.Request, got1xx func(int, textproto.MIMEHeader) error) (*http.Response, error) {
	if err := req.Write(c.bw); err != nil {
		return nil, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	if p.timeout > 0 {
		c.SetReadDeadline(time.Now().Add(p.timeout))
	}
	// The first byte of the answer tells a connection the backend had
	// closed (nothing at all arrives) from an answer cut short.
	if _, err := c.br.Peek(1); err != nil {
		if isTimeout(err) {
			return nil, err // a slow backend: not sent again
		}
		return nil, &nothingReceivedError{err}
	}
	for informational := 0; ; informational++ {
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			return nil, err
		}
		// 1xx answers other than 101 come before the real one; got1xx
		// forwards them, as http.Transport's trace does for ReverseProxy.
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			if informational == 5 {
				return nil, errors.New("too many 1xx informational responses")
			}
			if got1xx != nil {
				if err := got1xx(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
					return nil, err
				}
			}
			continue
		}
		if p.timeout > 0 {
			c.SetReadDeadline(time.Time{})
		}
		return resp, nil
	}
}

// ctxErr reports a failure caused by the client's going away as the
// context's error, which the error handler maps to 499.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// get returns an idle connection (reused) or a new one. check asks to
// check even a connection idle for a moment, for a request that could not
// be sent again.
func (p *connPool) get(ctx context.Context, check bool) (c *backendConn, reused bool, err error) {
	now := time.Now()
	p.mu.Lock()
	for n := len(p.idle); n > 0; n = len(p.idle) {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		idle := now.Sub(c.idleSince)
		if idle < checkIdleAfter && !check {
			p.mu.Unlock()
			return c, true, nil
		}
		p.mu.Unlock()
		if idle < idleConnTimeout && stillOpen(c.Conn) {
			return c, true, nil
		}
		c.Close()
		p.mu.Lock()
	}
	p.mu.Unlock()
	c, err = p.dialConn(ctx)
	return c, false, err
}

func (p *connPool) dialConn(ctx context.Context) (*backendConn, error) {
	nc, err := p.dial(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	return &backendConn{Conn: nc, br: bufio.NewReaderSize(nc, 4096), bw: bufio.NewWriterSize(nc, 4096)}, nil
}

func (p *connPool) put(c *backendConn) {
	c.idleSince = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdlePerTarget {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// closeIdle closes the idle connections; with final, connections that come
// back later are closed too.
func (p *connPool) closeIdle(final bool) {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.closed = p.closed || final
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}

// pooledBody gives the connection back when the response was read to its
// end, nothing else followed it and the client's going away did not touch
// it; any other close closes it.
type pooledBody struct {
	io.ReadCloser
	c    *backendConn
	pool *connPool
	resp *http.Response
	stop func() bool // unregisters the abort on the client's going away
	done bool
}

func (b *pooledBody) Read(x []byte) (int, error) {
	n, err := b.ReadCloser.Read(x)
	if err == io.EOF {
		b.done = true
	}
	return n, err
}

func (b *pooledBody) Close() error {
	err := b.ReadCloser.Close()
	if b.c == nil {
		return err
	}
	untouched := b.stop()
	if untouched && b.done && !b.resp.Close && b.c.br.Buffered() == 0 {
		b.pool.put(b.c)
	} else {
		b.c.Close()
	}
	b.c = nil
	return err
}

// nothingReceivedError is a connection that ended before any byte of an
// answer.
type nothingReceivedError struct{ err error }

func (e *nothingReceivedError) Error() string {
	if errors.Is(e.err, io.EOF) {
		return "the connection closed before an answer"
	}
	return e.err.Error()
}
func (e *nothingReceivedError) Unwrap() error { return e.err }

// nothingReceived reports an error of a connection the backend had closed
// before the request: writing it failed, or nothing of an answer arrived.
func nothingReceived(err error) bool {
	var nr *nothingReceivedError
	return errors.As(err, &nr) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// replayable is http.Transport's rule for sending a request again.
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header["Idempotency-Key"] != nil || req.Header["X-Idempotency-Key"] != nil
}
