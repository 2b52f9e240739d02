// Command goapp is a small Go backend behind authdev: it trusts no identity
// header, only the proxy's signed X-Authdev-Assertion, verified by the
// identity package. See README.md.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/authdev/authdev/identity"
)

func main() {
	if err := run(os.Getenv); err != nil {
		fmt.Fprintf(os.Stderr, "goapp: %v\n", err)
		os.Exit(1)
	}
}

// config is the app's environment, with the same names as the FastAPI
// example's.
type config struct {
	listen   string
	issuer   string
	audience string
	jwksURL  string
	caFile   string
}

func loadConfig(getenv func(string) string) config {
	c := config{
		listen:   getenv("LISTEN"),
		issuer:   getenv("AUTHDEV_ISSUER"),
		audience: getenv("AUTHDEV_AUDIENCE"),
		jwksURL:  getenv("AUTHDEV_JWKS_URL"),
		caFile:   getenv("AUTHDEV_CA_FILE"),
	}
	if c.listen == "" {
		c.listen = "127.0.0.1:8000"
	}
	if c.issuer == "" {
		c.issuer = "https://127.0.0.1:8443"
	}
	if c.audience == "" {
		c.audience = "app"
	}
	return c
}

func run(getenv func(string) string) error {
	cfg := loadConfig(getenv)
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	client, err := httpClient(cfg.caFile)
	if err != nil {
		return err
	}
	v, err := identity.New(identity.Options{
		Issuer:     cfg.issuer,
		Audience:   cfg.audience,
		JWKSURL:    cfg.jwksURL,
		HTTPClient: client,
		Logger:     logger,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listening on %q: %w: set LISTEN to a free address", cfg.listen, err)
	}
	srv := &http.Server{Handler: newHandler(v), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("goapp listening", "url", "http://"+ln.Addr().String(), "issuer", v.Issuer(), "audience", v.Audience())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// httpClient trusts caFile in addition to the system roots, so the app can
// fetch keys from a proxy serving HTTPS with authdev's local CA.
func httpClient(caFile string) (*http.Client, error) {
	if caFile == "" {
		return &http.Client{Timeout: 10 * time.Second}, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("AUTHDEV_CA_FILE: %w: write it with `authdev ca print > %s`", err, caFile)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("AUTHDEV_CA_FILE %q holds no PEM certificate: write it with `authdev ca print`", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, nil
}
