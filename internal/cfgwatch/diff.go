package cfgwatch

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/authdev/authdev/config"
)

// Diff says in one line what changed from old to new, e.g.
// "personas +dave ~bob; policies -admin-area; proxy.default_authorization",
// or "" when nothing that matters did (comments, order of keys, positions).
func Diff(old, new *config.Config) string {
	var parts []string
	add := func(s string) {
		if s != "" {
			parts = append(parts, s)
		}
	}
	add(named("personas", old.Personas, new.Personas, func(p config.Persona) (string, any) {
		p.Pos = config.Pos{}
		return p.ID, p
	}))
	add(named("environments", old.Environments, new.Environments, func(e config.Environment) (string, any) {
		e.Pos = config.Pos{}
		return e.Name, e
	}))
	policies := named("policies", old.Proxy.Policies, new.Proxy.Policies, func(p config.Policy) (string, any) {
		return p.Name, [2]string{p.Rule.Text, p.Action}
	})
	// Policies apply in order, so a new order is a change of its own.
	if policies == "" && !slices.EqualFunc(old.Proxy.Policies, new.Proxy.Policies,
		func(a, b config.Policy) bool { return a.Name == b.Name }) {
		policies = "policies reordered"
	}
	add(policies)
	add(named("upstreams", old.Proxy.Upstreams, new.Proxy.Upstreams, func(u config.Upstream) (string, any) {
		u.Pos = config.Pos{}
		return u.Name, u
	}))
	add(named("headers", old.Proxy.Headers, new.Proxy.Headers, func(h config.Header) (string, any) {
		return h.Name, h.Expr.Text
	}))
	add(named("clients", old.IDP.Clients, new.IDP.Clients, func(c config.Client) (string, any) {
		c.Pos = config.Pos{}
		return c.ID, c
	}))
	for _, f := range []struct {
		name     string
		old, new any
	}{
		{"idp.listen", old.IDP.Listen, new.IDP.Listen},
		{"idp.public_url", old.IDP.PublicURL, new.IDP.PublicURL},
		{"idp.tls", old.IDP.TLS, new.IDP.TLS},
		{"idp.flavor", old.IDP.Flavor, new.IDP.Flavor},
		{"idp.alg", old.IDP.Alg, new.IDP.Alg},
		{"idp.token_ttl", old.IDP.TokenTTL, new.IDP.TokenTTL},
		{"proxy.listen", old.Proxy.Listen, new.Proxy.Listen},
		{"proxy.tls", old.Proxy.TLSEnabled(), new.Proxy.TLSEnabled()},
		{"proxy.hostnames", old.Proxy.Hostnames, new.Proxy.Hostnames},
		{"proxy.public_url", old.Proxy.PublicURL, new.Proxy.PublicURL},
		{"proxy.session_timeout", old.Proxy.SessionTimeout, new.Proxy.SessionTimeout},
		{"proxy.idle_timeout", old.Proxy.IdleTimeout, new.Proxy.IdleTimeout},
		{"proxy.default_authorization", old.Proxy.DefaultAuthorization, new.Proxy.DefaultAuthorization},
		{"proxy.adc_config", old.Proxy.ADCConfig, new.Proxy.ADCConfig},
	} {
		if !reflect.DeepEqual(f.old, f.new) {
			parts = append(parts, f.name)
		}
	}
	if len(old.Checks) != len(new.Checks) {
		parts = append(parts, fmt.Sprintf("checks %d → %d", len(old.Checks), len(new.Checks)))
	}
	return strings.Join(parts, "; ")
}

// named compares two lists of named things: +added -removed ~changed.
func named[T any](what string, old, new []T, key func(T) (string, any)) string {
	before := map[string]any{}
	for _, o := range old {
		k, v := key(o)
		before[k] = v
	}
	var marks []string
	seen := map[string]bool{}
	for _, n := range new {
		k, v := key(n)
		seen[k] = true
		switch ov, ok := before[k]; {
		case !ok:
			marks = append(marks, "+"+k)
		case !reflect.DeepEqual(ov, v):
			marks = append(marks, "~"+k)
		}
	}
	for _, o := range old {
		if k, _ := key(o); !seen[k] {
			marks = append(marks, "-"+k)
		}
	}
	if len(marks) == 0 {
		return ""
	}
	return what + " " + strings.Join(marks, " ")
}
