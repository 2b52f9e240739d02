package stack

import (
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/flavor"
)

// ConfigOptions returns the Options that authdev.yaml decides: one
// environment per configured one, as a client (config.ProxyClientID) of the
// issuer that issuer names, the upstreams, the timeouts and the personas.
// The caller adds keys, TLS, the policy engine and the audit trail.
func ConfigOptions(cfg *config.Config, issuer func(env string) string, clientSecret string) devproxy.Options {
	o := devproxy.Options{
		SessionTimeout: cfg.Proxy.SessionTimeout.D(),
		IdleTimeout:    cfg.Proxy.IdleTimeout.D(),
		RequestTimeout: cfg.Proxy.RequestTimeout.D(),
		PersonaOf: func(env, user string) string {
			if id, ok := cfg.PersonaByEmail(env, user); ok && user != "" {
				return id.Persona
			}
			if p, ok := cfg.Persona(user); ok {
				return p.ID
			}
			return ""
		},
	}
	for _, e := range cfg.Environments {
		spec := flavor.Of(e.Flavor)
		env := devproxy.Environment{
			Name: e.Name, Issuer: issuer(e.Name), ClientID: config.ProxyClientID, ClientSecret: clientSecret,
			Audience: e.Audience, GroupsClaim: spec.GroupsClaim, UserNameClaim: spec.UserNameClaim, Roles: spec.ProxyRoles(&e),
		}
		if spec.ClientBoundAccess {
			env.BearerClients = cfg.ClientIDs()
		}
		md := e.SAMLMetadata
		if md == "" {
			md = issuer(e.Name) + config.SAMLMetadataPath
		}
		env.Login, env.SAML = e.Login, &devproxy.SAMLLogin{Metadata: md, Attributes: config.SAMLAttributes(e.Flavor)}
		o.Environments = append(o.Environments, env)
	}
	for _, u := range cfg.Proxy.Upstreams {
		o.Upstreams = append(o.Upstreams, UpstreamFromConfig(u))
	}
	for _, h := range cfg.Proxy.Headers {
		o.OwnedHeaders = append(o.OwnedHeaders, h.Name)
	}
	return o
}

// UpstreamFromConfig converts an upstream of authdev.yaml (or of an
// ns.conf, through adc.Settings).
func UpstreamFromConfig(u config.Upstream) devproxy.Upstream {
	out := devproxy.Upstream{Name: u.Name, Prefix: u.Prefix, Targets: u.Targets, LB: u.LB, API: u.API,
		Host: u.Host, Timeout: u.Timeout.D()}
	if m := u.Monitor; m != nil {
		out.Monitor = &devproxy.Monitor{Path: m.Path, Interval: m.Interval.D(), Timeout: m.Timeout.D(), Status: m.Status, Retries: m.Retries}
	}
	return out
}
