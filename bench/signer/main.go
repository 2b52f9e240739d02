// Command signer is the baseline of the IdP's RS256 token figure: an HTTP
// handler that does nothing but sign a fresh RS256 JWT per request (with
// go-jose, as mockidp does) and return it as a client_credentials token
// response. authdev's token endpoint must reach 0.9× its rate.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "host:port to listen on (loopback)")
	flag.Parse()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		fatal(err)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "bench"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		fatal(err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "signer: listening on http://%s\n", ln.Addr())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		tok, err := jwt.Signed(sig).Claims(jwt.Claims{
			Issuer: "http://" + r.Host, Subject: "ci", Audience: jwt.Audience{"authdev"},
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)),
		}).Serialize()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 300})
	})
	fmt.Fprintln(os.Stderr, "signer:", http.Serve(ln, h))
	os.Exit(1)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "signer:", err)
	os.Exit(1)
}
