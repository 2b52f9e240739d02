// Command mockoidc runs github.com/oauth2-proxy/mockoidc as a server, so
// that `make bench` can compare authdev idp's discovery, JWKS, start-up and
// memory with it. It is its own module, so that the peer's dependencies
// stay out of authdev's go.mod. mockoidc has no client_credentials grant,
// so it takes no part in the token figures.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/oauth2-proxy/mockoidc"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "host:port to listen on (loopback)")
	flag.Parse()
	// nil: mockoidc generates its RSA key at start, as its Run does.
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		fatal(err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "mockoidc: listening on http://%s issuer %s\n", ln.Addr(), m.Issuer())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	m.Shutdown()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mockoidc:", err)
	os.Exit(1)
}
