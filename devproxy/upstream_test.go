package devproxy_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/internal/testkit"
	"github.com/authdev/authdev/mockidp"
)

// bearer returns an Authorization header pair for persona in dev.
func (e *env) bearer(persona string) []string {
	ts, err := e.idp.Mint(persona, "dev", mockidp.MintOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return []string{"Authorization", "Bearer " + ts.AccessToken}
}

func TestServerSentEventsArriveBeforeTheStreamEnds(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		fmt.Fprint(w, "data: last\n\n")
	}))
	defer backend.Close()
	defer close(release)
	e := start(t, setup{upstreams: upstreamTo(backend.URL)})
	resp := get(t, http.DefaultClient, e.url+"/events", e.bearer("alice")...)
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event %q, %v", line, err)
	}
	// Reaching here means the event came through while the backend still
	// held the stream open.
}

// An EventSource opens when the header arrives: the proxy must not hold it
// until the first event.
func TestAnEventStreamsHeaderArrivesBeforeItsFirstEvent(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "data: late\n\n")
	}))
	defer backend.Close()
	defer close(release)
	e := start(t, setup{upstreams: upstreamTo(backend.URL)})
	client := &http.Client{Timeout: 5 * time.Second}
	resp := get(t, client, e.url+"/events", e.bearer("alice")...)
	defer resp.Body.Close()
	// get returned with the header while the backend still holds the first
	// event back.
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestWebSocketsEchoThroughTheProxy(t *testing.T) {
	var sawAssertion bool
	var mu sync.Mutex
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sawAssertion = r.Header.Get(identity.Header) != ""
		mu.Unlock()
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, msg); err != nil {
				return
			}
		}
	}))
	defer backend.Close()
	e := start(t, setup{upstreams: upstreamTo(backend.URL)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	auth := e.bearer("alice")
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{auth[0]: {auth[1]}}})
	if err != nil {
		t.Fatalf("dial through the proxy: %v", err)
	}
	defer c.CloseNow()
	for _, msg := range []string{"hello", "again"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		if err != nil || string(got) != msg {
			t.Fatalf("echo %q, %v", got, err)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
	mu.Lock()
	defer mu.Unlock()
	if !sawAssertion {
		t.Error("the upgrade request carried no assertion")
	}
}

func TestAKilledUpstreamIs502AndRecoversWhenItRestarts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := &http.Server{Handler: echoHandler("api")}
	go srv.Serve(ln)
	e := start(t, setup{upstreams: upstreamTo("http://" + addr)})
	auth := e.bearer("alice")
	readSeen(t, get(t, http.DefaultClient, e.url+"/", auth...))

	srv.Close()
	resp := get(t, http.DefaultClient, e.url+"/", append(auth, "Accept", "application/json")...)
	text := body(resp)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(text, `upstream \"api\"`) || !strings.Contains(text, "connection refused") {
		t.Fatalf("with the upstream down: %d %.300s", resp.StatusCode, text)
	}
	if st := e.proxy.Upstreams()[0].Targets[0]; st.Healthy || !strings.Contains(st.Reason, "connection refused") {
		t.Errorf("status after the failure: %+v", st)
	}

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	srv2 := &http.Server{Handler: echoHandler("api")}
	go srv2.Serve(ln2)
	defer srv2.Close()
	readSeen(t, get(t, http.DefaultClient, e.url+"/", auth...))
	if st := e.proxy.Upstreams()[0].Targets[0]; !st.Healthy {
		t.Errorf("status after recovery: %+v", st)
	}
}

func TestLoadBalancing(t *testing.T) {
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	t.Run("round robin alternates between the targets", func(t *testing.T) {
		e := start(t, setup{upstreams: []devproxy.Upstream{{Name: "api", Prefix: "/", Targets: []string{a.URL, b.URL}, LB: "roundrobin"}}})
		auth := e.bearer("alice")
		count := map[string]int{}
		prev := ""
		for range 10 {
			s := readSeen(t, get(t, http.DefaultClient, e.url+"/", auth...))
			if s.Server == prev {
				t.Fatalf("%s twice in a row", prev)
			}
			prev = s.Server
			count[s.Server]++
		}
		if count["a"] != 5 || count["b"] != 5 {
			t.Fatalf("spread %v", count)
		}
	})
	t.Run("least connection avoids the busy target", func(t *testing.T) {
		arrived, release := make(chan struct{}), make(chan struct{})
		busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				close(arrived)
				<-release
			}
			echoHandler("busy").ServeHTTP(w, r)
		}))
		defer busy.Close()
		e := start(t, setup{upstreams: []devproxy.Upstream{{Name: "api", Prefix: "/", Targets: []string{busy.URL, b.URL}, LB: "leastconnection"}}})
		auth := e.bearer("alice")
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				// The first request may land on b; keep asking until busy holds one.
				req, _ := http.NewRequest(http.MethodGet, e.url+"/slow", nil)
				req.Header.Set(auth[0], auth[1])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				s := body(resp)
				if strings.Contains(s, `"busy"`) {
					return
				}
			}
		}()
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("the slow request never reached the busy target")
		}
		for range 6 {
			if s := readSeen(t, get(t, http.DefaultClient, e.url+"/fast", auth...)); s.Server != "b" {
				t.Fatalf("a request went to %s while it was busy", s.Server)
			}
		}
		close(release)
		<-done
	})
	t.Run("a target that refuses connections is passed over", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		deadURL := dead.URL
		dead.Close()
		e := start(t, setup{upstreams: []devproxy.Upstream{{Name: "api", Prefix: "/", Targets: []string{deadURL, b.URL}, LB: "roundrobin"}}})
		auth := e.bearer("alice")
		for range 6 {
			if s := readSeen(t, get(t, http.DefaultClient, e.url+"/", auth...)); s.Server != "b" {
				t.Fatalf("answered by %s", s.Server)
			}
		}
		if st := e.proxy.Upstreams()[0].Targets[0]; st.Healthy {
			t.Errorf("the dead target is reported healthy: %+v", st)
		}
	})
}

func TestActiveMonitorsTakeTargetsOutAndAllDownIs503(t *testing.T) {
	var mu sync.Mutex
	healthy := map[string]bool{"a": true, "b": false}
	backend := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" {
				mu.Lock()
				ok := healthy[name]
				mu.Unlock()
				if !ok {
					w.WriteHeader(http.StatusInternalServerError)
				}
				return
			}
			echoHandler(name).ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	a, b := backend("a"), backend("b")
	e := start(t, setup{upstreams: []devproxy.Upstream{{Name: "api", Prefix: "/", Targets: []string{a.URL, b.URL}, LB: "roundrobin",
		Monitor: &devproxy.Monitor{Path: "/healthz", Interval: 20 * time.Millisecond, Timeout: time.Second, Status: 200}}}})
	testkit.WaitFor(t, "b marked down", func() bool {
		ts := e.proxy.Upstreams()[0].Targets
		return ts[0].Healthy && !ts[1].Healthy && strings.Contains(ts[1].Reason, "status 500")
	})
	auth := e.bearer("alice")
	for range 6 {
		if s := readSeen(t, get(t, http.DefaultClient, e.url+"/", auth...)); s.Server != "a" {
			t.Fatalf("answered by %s, which the monitor holds down", s.Server)
		}
	}
	mu.Lock()
	healthy["a"] = false
	mu.Unlock()
	testkit.WaitFor(t, "a marked down", func() bool { return !e.proxy.Upstreams()[0].Healthy() })
	resp := get(t, http.DefaultClient, e.url+"/", auth...)
	text := body(resp)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(text, `upstream &#34;api&#34; has no healthy target`) || !strings.Contains(text, "status 500") {
		t.Fatalf("all down: %d %.400s", resp.StatusCode, text)
	}
	mu.Lock()
	healthy["b"] = true
	mu.Unlock()
	testkit.WaitFor(t, "b back up", func() bool { return e.proxy.Upstreams()[0].Healthy() })
	if s := readSeen(t, get(t, http.DefaultClient, e.url+"/", auth...)); s.Server != "b" {
		t.Fatalf("answered by %s", s.Server)
	}
}

func TestASlowUpstreamIs504(t *testing.T) {
	stop := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer backend.Close()
	defer close(stop)
	e := start(t, setup{upstreams: []devproxy.Upstream{{Name: "slow", Prefix: "/", Targets: []string{backend.URL}, Timeout: 100 * time.Millisecond}}})
	resp := get(t, http.DefaultClient, e.url+"/", append(e.bearer("alice"), "Accept", "application/json")...)
	text := body(resp)
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(text, "slow") || !strings.Contains(text, "100ms") {
		t.Fatalf("%d %s", resp.StatusCode, text)
	}
}

func TestRoutingTakesTheLongestPrefixAndCanSetTheHost(t *testing.T) {
	root, api, v2 := echoBackend(t, "root"), echoBackend(t, "api"), echoBackend(t, "v2")
	e := start(t, setup{upstreams: []devproxy.Upstream{
		{Name: "root", Prefix: "/", Targets: []string{root.URL}},
		{Name: "api", Prefix: "/api", Targets: []string{api.URL}, Host: "api.internal"},
		{Name: "v2", Prefix: "/api/v2/", Targets: []string{v2.URL}},
	}})
	auth := e.bearer("alice")
	for path, want := range map[string]string{
		"/": "root", "/apix": "root", "/api": "api", "/api/items": "api", "/api/v2": "api", "/api/v2/items": "v2",
	} {
		s := readSeen(t, get(t, http.DefaultClient, e.url+path, auth...))
		if s.Server != want {
			t.Errorf("%s went to %s, want %s", path, s.Server, want)
		}
		if want == "api" && s.Host != "api.internal" {
			t.Errorf("%s: Host %q, want the configured api.internal", path, s.Host)
		}
	}
	resp := get(t, noFollow(nil), e.url+"/x/../admin", auth...)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "/admin" {
		t.Errorf("a path with dot segments: %d to %q, want a redirect to /admin", resp.StatusCode, resp.Header.Get("Location"))
	}
}
