package devproxy

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/authdev/authdev/audit"
)

// routing is the part of the proxy that Reload replaces in one step: the
// issuers, the upstreams, the policy engine and the headers it owns. A
// request loads it once per use through Proxy.rt, so it sees either the
// old routing or the new one, never half of each.
type routing struct {
	envs      map[string]*envState
	envOrder  []string
	upstreams []*upstream // longest prefix first
	policy    Policy
	owned     *headerSet
	personaOf func(env, email string) string
}

// env is the environment named name, or the first one when a reload took
// it away (the active one follows at once; a request may still hold the
// old name).
func (g *routing) env(name string) *envState {
	if e := g.envs[name]; e != nil {
		return e
	}
	return g.envs[g.envOrder[0]]
}

func (p *Proxy) rt() *routing { return p.routing.Load() }

// buildRouting checks opts' environments, upstreams and policy. Upstreams
// and environments equal to ones in old are taken over as they are, so a
// reload keeps their health, connections and discovered issuers.
func (p *Proxy) buildRouting(opts Options, old *routing) (*routing, error) {
	if len(opts.Environments) == 0 {
		return nil, fmt.Errorf("the proxy needs at least one environment (an issuer)")
	}
	g := &routing{envs: map[string]*envState{}, policy: opts.Policy, personaOf: opts.PersonaOf}
	if g.personaOf == nil {
		g.personaOf = func(string, string) string { return "" }
	}
	for _, e := range opts.Environments {
		if e.Name == "" || e.Issuer == "" || e.ClientID == "" {
			return nil, fmt.Errorf("environment %q needs a name, an issuer and a client ID", e.Name)
		}
		if _, dup := g.envs[e.Name]; dup {
			return nil, fmt.Errorf("environment %q is listed twice", e.Name)
		}
		es := newEnvState(e)
		if old != nil {
			if prev := old.envs[e.Name]; prev != nil && reflect.DeepEqual(prev.Environment, es.Environment) {
				es = prev
			}
		}
		g.envs[e.Name] = es
		g.envOrder = append(g.envOrder, e.Name)
	}
	owned := slices.Clone(alwaysOwned)
	owned = append(owned, opts.OwnedHeaders...)
	if g.policy != nil {
		owned = append(owned, g.policy.OwnedHeaders()...)
	}
	g.owned = newHeaderSet(owned...)
	names := map[string]bool{}
	for _, u := range opts.Upstreams {
		if names[u.Name] {
			return nil, fmt.Errorf("upstream %q is listed twice", u.Name)
		}
		names[u.Name] = true
		up, err := newUpstream(u, p)
		if err != nil {
			return nil, err
		}
		if old != nil {
			for _, prev := range old.upstreams {
				if prev.Name == up.Name && reflect.DeepEqual(prev.Upstream, up.Upstream) {
					up = prev
					break
				}
			}
		}
		g.upstreams = append(g.upstreams, up)
	}
	// Longest prefix first, so the first match is the right one.
	slices.SortStableFunc(g.upstreams, func(a, b *upstream) int { return len(b.Prefix) - len(a.Prefix) })
	return g, nil
}

// Reload applies the environments (issuers, audiences, role mappings,
// claims), upstreams, policy engine, owned headers and PersonaOf of opts to
// the running proxy. Requests in flight finish with what they started with;
// the next ones see the new configuration. Browser sessions survive (the
// cookie secret is unchanged) and their identities are derived again, so
// new role mappings apply at once; sessions of an environment that is gone
// log in again.
//
// Everything else in opts is ignored, because it cannot change under a
// running listener or would end every session: PublicURL, the TLS
// certificate, the cookie secret, the assertion key, the timeouts, Detail,
// Events, Control, Now and Rand. The caller says so to the user.
//
// When the active environment is gone, the first one becomes active.
func (p *Proxy) Reload(opts Options) error {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	old := p.rt()
	g, err := p.buildRouting(opts, old)
	if err != nil {
		return err
	}
	if p.monitorCtx != nil {
		for _, u := range g.upstreams {
			if !slices.Contains(old.upstreams, u) {
				u.monitor(p.monitorCtx, &p.monitors)
			}
		}
	}
	p.routing.Store(g)
	for _, u := range old.upstreams {
		if !slices.Contains(g.upstreams, u) {
			u.stopMonitor()
			u.closeIdle(true)
		}
	}
	// Cached identities hold roles and user names derived with the old
	// environments; derive them again from the cookies and tokens.
	p.sessions.deleteFunc(func(string, *sessionEntry) bool { return true })
	p.bearers.deleteFunc(func(string, *caller) bool { return true })
	p.assertions.c.deleteFunc(func(assertionKey, *signedAssertion) bool { return true })
	if act := p.Active(); g.envs[act.Env] == nil {
		next := Active{Persona: act.Persona, Env: g.envOrder[0]}
		p.active.Store(&next)
		p.emit(audit.Event{Kind: audit.KindNotice, Level: "warn", Persona: next.Persona, Env: next.Env,
			Message: fmt.Sprintf("environment %s is gone: %s is active now (of %s)", act.Env, next.Env, strings.Join(g.envOrder, ", "))})
	}
	return nil
}

// monitorStop ends one upstream's monitors when a reload drops it.
type monitorStop struct {
	mu     sync.Mutex
	cancel context.CancelFunc
}

func (u *upstream) stopMonitor() {
	u.stop.mu.Lock()
	defer u.stop.mu.Unlock()
	if u.stop.cancel != nil {
		u.stop.cancel()
		u.stop.cancel = nil
	}
}
