package devproxy_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/internal/testkit"
)

// countingBackend counts the connections and requests it takes, and the
// connections it has closed.
type countingBackend struct {
	*httptest.Server
	conns, closed, requests atomic.Int32
}

func newCountingBackend(t *testing.T, idle time.Duration, h http.HandlerFunc) *countingBackend {
	b := &countingBackend{}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.requests.Add(1)
		h(w, r)
	}))
	b.Config.IdleTimeout = idle
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			b.conns.Add(1)
		case http.StateClosed:
			b.closed.Add(1)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func ok(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok "+r.Method) }

func send(t *testing.T, method, url string, hdr []string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, body(resp)
}

func TestPlainRequestsShareOneKeptAliveBackendConnection(t *testing.T) {
	b := newCountingBackend(t, 0, ok)
	e := start(t, setup{upstreams: upstreamTo(b.URL)})
	auth := e.bearer("alice")
	for range 20 {
		if code, text := send(t, http.MethodGet, e.url+"/x", auth); code != 200 || text != "ok GET" {
			t.Fatalf("%d %q", code, text)
		}
	}
	if n := b.conns.Load(); n != 1 {
		t.Fatalf("20 sequential requests took %d backend connections, want 1", n)
	}
}

// A backend closes idle connections quickly (uvicorn's keep-alive is 5 s;
// a restarted backend closes them all). The next request still works, and
// is answered once.
func TestARequestAfterTheBackendClosedTheIdleConnectionStillWorks(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			b := newCountingBackend(t, 20*time.Millisecond, ok)
			e := start(t, setup{upstreams: upstreamTo(b.URL)})
			auth := e.bearer("alice")
			for i := range 3 {
				if code, text := send(t, method, e.url+"/x", auth); code != 200 || text != "ok "+method {
					t.Fatalf("request %d: %d %q", i, code, text)
				}
				// The backend (idle timeout 20 ms) closes the connection meanwhile.
				testkit.WaitFor(t, "the backend to close its idle connection", func() bool { return b.closed.Load() == int32(i+1) })
			}
			if n := b.requests.Load(); n != 3 {
				t.Fatalf("the backend answered %d requests, want 3 (none twice)", n)
			}
			if n := b.conns.Load(); n != 3 {
				t.Fatalf("%d backend connections, want 3: one per request, each closed while idle", n)
			}
		})
	}
}

func TestAClientThatGoesAwayAbortsTheBackendRequest(t *testing.T) {
	aborted := make(chan struct{})
	b := newCountingBackend(t, 0, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			close(aborted)
		case <-time.After(10 * time.Second):
		}
	})
	e := start(t, setup{upstreams: upstreamTo(b.URL)})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/wait", nil)
	auth := e.bearer("alice")
	req.Header.Set(auth[0], auth[1])
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	select {
	case <-aborted:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend request went on after the client left")
	}
	testkit.WaitFor(t, "a 499 request event", func() bool {
		for _, ev := range e.events.of(audit.KindRequest) {
			if ev.Path == "/wait" && ev.Status == 499 {
				return true
			}
		}
		return false
	})
}

func TestEarlyHintsReachTheClient(t *testing.T) {
	b := newCountingBackend(t, 0, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "page")
	})
	e := start(t, setup{upstreams: upstreamTo(b.URL)})
	var mu sync.Mutex
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		hints = append(hints, h.Get("Link"))
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, e.url+"/", nil)
	auth := e.bearer("alice")
	req.Header.Set(auth[0], auth[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if text := body(resp); resp.StatusCode != 200 || text != "page" {
		t.Fatalf("%d %q", resp.StatusCode, text)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hints) != 1 || !strings.Contains(hints[0], "app.css") {
		t.Fatalf("early hints seen by the client: %q", hints)
	}
	// The audit trail records the final status, not the hint's.
	testkit.WaitFor(t, "the request event", func() bool { return len(e.events.of(audit.KindRequest)) > 0 })
	if ev := e.events.of(audit.KindRequest)[0]; ev.Status != http.StatusOK {
		t.Fatalf("the event's status is %d, want 200", ev.Status)
	}
}

// A backend that dies in the middle of an answer: the client sees the
// answer cut short, the connection is not reused, the next request works.
func TestAnAnswerCutShortIsNotReused(t *testing.T) {
	var n atomic.Int32
	b := newCountingBackend(t, 0, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			c, buf, _ := http.NewResponseController(w).Hijack()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
			buf.Flush()
			c.Close()
			return
		}
		io.WriteString(w, "whole")
	})
	e := start(t, setup{upstreams: upstreamTo(b.URL)})
	auth := e.bearer("alice")
	req, _ := http.NewRequest(http.MethodGet, e.url+"/", nil)
	req.Header.Set(auth[0], auth[1])
	// The proxy aborts the client's connection: whether the client saw the
	// status line first depends on buffering, never a whole answer.
	if resp, err := http.DefaultClient.Do(req); err == nil {
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Fatalf("a cut answer read as whole: %q", got)
		}
	}
	if code, text := send(t, http.MethodGet, e.url+"/", auth); code != 200 || text != "whole" {
		t.Fatalf("the request after: %d %q", code, text)
	}
	if c := b.conns.Load(); c != 2 {
		t.Fatalf("%d backend connections, want 2", c)
	}
	testkit.WaitFor(t, "the cut answer's event", func() bool {
		for _, ev := range e.events.of(audit.KindRequest) {
			if strings.Contains(ev.Message, "cut short") {
				return true
			}
		}
		return false
	})
}

// Two answers in one read: the second was never asked for, so the
// connection is not trusted again.
func TestAConnectionWithUnaskedBytesIsNotReused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra")
				}
			}()
		}
	}()
	e := start(t, setup{upstreams: upstreamTo("http://" + ln.Addr().String())})
	auth := e.bearer("alice")
	for range 2 {
		if code, text := send(t, http.MethodGet, e.url+"/", auth); code != 200 || text != "ok" {
			t.Fatalf("%d %q", code, text)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: one answer too many makes a connection unusable", n)
	}
}

// A restarted backend closed every kept-alive connection at once: the next
// request still works, on one new connection.
func TestAfterABackendRestartOneNewConnectionServes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	release := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(4)
	first := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			arrived.Done()
			<-release
		}
		io.WriteString(w, "first")
	})}
	go first.Serve(ln)
	e := start(t, setup{upstreams: upstreamTo("http://" + addr)})
	auth := e.bearer("alice")
	// Four requests at once leave four idle connections behind.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { send(t, http.MethodGet, e.url+"/hold", auth) })
	}
	arrived.Wait()
	close(release)
	wg.Wait()
	first.Close()

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	var conns atomic.Int32
	second := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "second") }),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}}
	go second.Serve(ln2)
	defer second.Close()
	if code, text := send(t, http.MethodGet, e.url+"/", auth); code != 200 || text != "second" {
		t.Fatalf("after the restart: %d %q", code, text)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("the restarted backend took %d connections for one request, want 1", n)
	}
}

// Hop-by-hop headers (RFC 9110 7.6.1), those the Connection header names
// included, stop at the proxy in both directions; trailers pass, and a
// client's "TE: trailers" reaches the backend.
func TestHopByHopHeadersStopAtTheProxyAndTrailersPass(t *testing.T) {
	var seen http.Header
	var mu sync.Mutex
	b := newCountingBackend(t, 0, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Header.Clone()
		mu.Unlock()
		w.Header().Set("Connection", "X-Resp-Hop")
		w.Header().Set("X-Resp-Hop", "1")
		w.Header().Set("Proxy-Authenticate", "Basic")
		w.Header().Set("Trailer", "X-Checksum")
		w.Header().Set("X-End-To-End", "kept")
		io.WriteString(w, "body")
		w.(http.Flusher).Flush() // chunked, so that trailers can follow
		w.Header().Set("X-Checksum", "abc")
	})
	e := start(t, setup{upstreams: upstreamTo(b.URL)})
	auth := e.bearer("alice")
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /hop HTTP/1.1\r\nHost: app.test\r\n"+auth[0]+": "+auth[1]+"\r\n"+
		"Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n"+
		"Proxy-Authorization: Basic c2VjcmV0\r\nTE: trailers\r\nX-End-To-End: kept\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(resp.Body)
	if err != nil || string(text) != "body" || resp.StatusCode != 200 {
		t.Fatalf("%d %q %v", resp.StatusCode, text, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, h := range []string{"X-Hop", "Keep-Alive", "Proxy-Authorization"} {
		if v := seen.Get(h); v != "" {
			t.Errorf("the backend got the hop-by-hop %s: %q", h, v)
		}
	}
	if seen.Get("Te") != "trailers" || seen.Get("X-End-To-End") != "kept" {
		t.Errorf("the backend got TE %q and X-End-To-End %q", seen.Get("Te"), seen.Get("X-End-To-End"))
	}
	for _, h := range []string{"X-Resp-Hop", "Proxy-Authenticate"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("the client got the hop-by-hop %s: %q", h, v)
		}
	}
	if resp.Header.Get("X-End-To-End") != "kept" || resp.Trailer.Get("X-Checksum") != "abc" {
		t.Errorf("end-to-end header %q, trailer %q", resp.Header.Get("X-End-To-End"), resp.Trailer.Get("X-Checksum"))
	}
}
