package devproxy_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/identity"
)

// A client's Connection header names headers for the next hop to drop. The
// proxy honours it for what the client sent, before it strips and injects;
// the headers it injects itself must still reach the backend, on the pooled
// path (GET), on ReverseProxy's (POST) and on a WebSocket upgrade.
func TestConnectionHeaderCannotRemoveTheHeadersTheProxyInjects(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			echoHandler("api").ServeHTTP(w, r)
			return
		}
		// Accept the upgrade, then send what arrived and close.
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		json.NewEncoder(buf).Encode(seen{Path: r.URL.Path, Headers: r.Header})
		buf.Flush()
	}))
	t.Cleanup(backend.Close)
	e := start(t, setup{upstreams: upstreamTo(backend.URL)})
	auth := e.bearer("bob")
	named := "X-Remote-User, x_remote_groups, X-Remote-Roles, X-Authdev-Assertion, X-Forwarded-For, Keep-Alive"
	want := map[string]string{
		"X-Remote-User": "bob@example.com", "X-Remote-Groups": "eng", "X-Remote-Roles": "reader",
		"X-Forwarded-For": "127.0.0.1",
	}
	check := func(t *testing.T, s seen) {
		t.Helper()
		for name, v := range want {
			if got := s.header(name); len(got) != 1 || got[0] != v {
				t.Errorf("backend saw %s = %q, want the proxy's %q", name, got, v)
			}
		}
		if got := s.header(identity.Header); len(got) != 1 || got[0] == "" {
			t.Errorf("backend saw assertions %q, want the proxy's one", got)
		}
		if got := s.header("X-Client-Hop"); len(got) != 0 {
			t.Errorf("a header the client's Connection named reached the backend: %q", got)
		}
	}
	t.Run("GET, the pooled direct path", func(t *testing.T) {
		check(t, readSeen(t, get(t, http.DefaultClient, e.url+"/x", "Connection", named+", X-Client-Hop", "X-Client-Hop", "1", auth[0], auth[1])))
	})
	t.Run("POST, through ReverseProxy", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.url+"/x", strings.NewReader("body"))
		req.Header["Connection"] = []string{named + ", X-Client-Hop"}
		req.Header.Set("X-Client-Hop", "1")
		req.Header.Set(auth[0], auth[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		check(t, readSeen(t, resp))
	})
	t.Run("a WebSocket upgrade", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: "+strings.TrimPrefix(e.url, "http://")+"\r\n"+
			"Connection: Upgrade, "+named+", X-Client-Hop\r\nUpgrade: websocket\r\nX-Client-Hop: 1\r\n"+
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+auth[0]+": "+auth[1]+"\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade answered %s", resp.Status)
		}
		var s seen
		if err := json.NewDecoder(br).Decode(&s); err != nil {
			t.Fatal(err)
		}
		check(t, s)
	})
}
