package devproxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/devproxy"
)

// A client that sends its body a byte at a time (slowloris) is cut at the
// request timeout with a 408, as the ADC's HTTP profile cuts a request
// that does not complete within -reqTimeout
// (https://docs.citrix.com/en-us/citrix-k8s-ingress-controller/how-to/http-use-cases.html),
// instead of holding a connection and an upstream request for as long as
// it likes.
func TestASlowRequestBodyIsCutAtTheRequestTimeout(t *testing.T) {
	var bodies atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err == nil {
			bodies.Add(1)
		}
	}))
	t.Cleanup(backend.Close)
	e := start(t, setup{upstreams: upstreamTo(backend.URL),
		tweak: func(o *devproxy.Options) { o.RequestTimeout = 300 * time.Millisecond }})
	auth := e.bearer("bob")

	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: x\r\n%s: %s\r\nContent-Length: 1000\r\n\r\n", auth[0], auth[1])
	// Trickle the body in the background; the answer must not wait for it.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for range 1000 {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer while the body trickled in: %v", err)
	}
	text, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(text), "300ms") {
		t.Fatalf("status %d, want 408 naming the timeout: %s", resp.StatusCode, text)
	}
	if n := bodies.Load(); n != 0 {
		t.Errorf("the backend read %d whole bodies", n)
	}
	var ev []audit.Event
	for _, x := range e.events.of(audit.KindRequest) {
		if x.Path == "/upload" {
			ev = append(ev, x)
		}
	}
	if len(ev) != 1 || ev[0].Status != http.StatusRequestTimeout {
		t.Errorf("audit events %+v", ev)
	}
}

// A body that arrives in time is unaffected, and the deadline does not
// outlive its request on a kept-alive connection.
func TestABodyInTimePassesAndTheNextRequestOnTheConnectionIsNotCut(t *testing.T) {
	e := start(t, setup{upstreams: upstreamTo(echoBackend(t, "api").URL),
		tweak: func(o *devproxy.Options) { o.RequestTimeout = 200 * time.Millisecond }})
	auth := e.bearer("bob")
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodPost, e.url+"/x", strings.NewReader("hello"))
		req.Header.Set(auth[0], auth[1])
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readSeen(t, resp)
		if i < 2 {
			time.Sleep(250 * time.Millisecond) // longer than the timeout, between requests
		}
	}
}
