// Command backend is the minimal Go backend every proxy of `make bench` sits
// in front of: it answers every request with a short fixed body, so that the
// figures measure the proxy and not the application.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
)

var body = []byte("{\"ok\":true,\"service\":\"bench-backend\"}\n")

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "host:port to listen on (loopback)")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "backend:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "backend: listening on http://%s\n", ln.Addr())
	size := strconv.Itoa(len(body))
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{size}
		w.Write(body)
	}))
	fmt.Fprintln(os.Stderr, "backend:", err)
	os.Exit(1)
}
