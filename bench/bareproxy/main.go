// Command bareproxy is the baseline of the proxy benchmarks: a bare
// httputil.ReverseProxy with a tuned transport (idle connections per host
// raised) and a pooled copy buffer — the fastest a Go proxy gets before it
// does any work of its own.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"time"
)

type pool struct{ p sync.Pool }

func (b *pool) Get() []byte  { return *b.p.Get().(*[]byte) }
func (b *pool) Put(x []byte) { b.p.Put(&x) }

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "host:port to listen on (loopback)")
	upstream := flag.String("upstream", "", "backend URL")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil || target.Host == "" {
		fmt.Fprintln(os.Stderr, "bareproxy: --upstream must be a URL such as http://127.0.0.1:8000")
		os.Exit(2)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
		},
		BufferPool: &pool{p: sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}},
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bareproxy:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "bareproxy: listening on http://%s\n", ln.Addr())
	fmt.Fprintln(os.Stderr, "bareproxy:", http.Serve(ln, rp))
	os.Exit(1)
}
