package cli

import (
	"context"
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
	token, roots, err := stack.ControlCredentials(store)
	if err != nil {
		return runningUp{}, false
	}
	url := controlURL(cfg, store)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	active, err := stack.Active(ctx, url, token, roots)
	if err != nil || !slices.Contains(cfg.EnvironmentNames(), active.Env) {
		return runningUp{}, false
	}
	return runningUp{ProxyURL: url, Active: active}, true
}

// controlURL is where the `authdev up` sharing store serves its control
// endpoint: the proxy URL it noted in the store, or proxy.listen's.
func controlURL(cfg *config.Config, store state.Store) string {
	if v, err := store.Get(stack.ProxyURLKey); err == nil {
		return string(v)
	}
	return stack.ProxyURL(cfg, cfg.Proxy.Listen)
}
