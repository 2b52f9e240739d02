package devproxy

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"
)

// hostProbe remembers for a moment whether the IdP's authorization endpoint
// accepts connections. The proxy sends a browser there only when it does:
// an IdP that stopped after discovery would otherwise leave the user on
// the browser's own "connection refused" instead of a page that names the
// IdP. Caching keeps a login from paying a dial each time.
type hostProbe struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

const (
	probeTimeout = 500 * time.Millisecond
	probeTTL     = 2 * time.Second
)

// check dials the host of rawURL, or returns the answer of a check made in
// the last probeTTL.
func (h *hostProbe) check(now time.Time, rawURL string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.at.IsZero() && now.Sub(h.at) < probeTTL && now.After(h.at) {
		return h.err
	}
	h.at, h.err = now, dialURL(rawURL)
	return h.err
}

func dialURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("authorization endpoint %q is not a URL", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "443"
		if u.Scheme == "http" {
			port = "80"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot reach the identity provider at %s: %w", addr, err)
	}
	return conn.Close()
}
