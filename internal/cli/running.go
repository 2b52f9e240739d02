package cli

import (
	"cmp"
	"context"
	"crypto/x509"
	"slices"
	"time"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/state"
)

// runningUp is an `authdev up` of the config in use that answers on its
// control endpoint.
type runningUp struct {
	ProxyURL string
	Active   stack.ActiveState
}

// findRunningUp asks the `authdev up` that last started with store (or,
// failing its note, the one at proxy.listen) for its active persona and
// environment. ok is false when none answers, when the control token does
// not match, or when its environment is not one of cfg's: then the
// caller's own defaults apply.
func findRunningUp(ctx context.Context, cfg *config.Config, store state.Store) (runningUp, bool) {
	c, err := openControl(cfg, store, "")
	if err != nil {
		return runningUp{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	active, err := stack.Active(ctx, c.url, c.token, c.roots)
	if err != nil || !slices.Contains(cfg.EnvironmentNames(), active.Env) {
		return runningUp{}, false
	}
	return runningUp{ProxyURL: c.url, Active: active}, true
}

// control is how to reach the control endpoint of the `authdev up` sharing
// a state store: its URL, the token it accepts and the CA it serves under.
type control struct {
	url, token string
	roots      *x509.CertPool
}

// control opens the state store and reads the control credentials from it.
func (d Deps) control(cfg *config.Config, proxyURL string) (control, error) {
	store, err := d.State()
	if err != nil {
		return control{}, err
	}
	return openControl(cfg, store, proxyURL)
}

// openControl reads the control credentials from store; the URL is
// proxyURL, else controlURL's.
func openControl(cfg *config.Config, store state.Store, proxyURL string) (control, error) {
	token, roots, err := stack.ControlCredentials(store)
	if err != nil {
		return control{}, err
	}
	return control{url: cmp.Or(proxyURL, controlURL(cfg, store)), token: token, roots: roots}, nil
}

// controlURL is where the `authdev up` sharing store serves its control
// endpoint: the proxy URL it noted in the store, or proxy.listen's.
func controlURL(cfg *config.Config, store state.Store) string {
	if v, err := store.Get(stack.ProxyURLKey); err == nil {
		return string(v)
	}
	return stack.ProxyURL(cfg, cfg.Proxy.Listen)
}
