package stack

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/mockidp"
)

// Reload applies cfg to the running stack as far as is safe live, and
// leaves everything as it was when cfg cannot be applied (a policy that
// does not compile, an ns.conf that does not load, a bad upstream).
//
// Live:
//   - the mock IdP: personas, environments (claims, flavors, audiences),
//     clients and token lifetime. A new IdP built from cfg takes over the
//     listener; its signing keys and the proxy's client secret come from the
//     state store, so tokens issued before stay valid. Login codes in flight,
//     the IdP's own browser sessions and refresh tokens do not carry over.
//   - the proxy: environments (issuers, audiences, role mappings),
//     upstreams, headers and policies (a freshly compiled ADC engine,
//     proxy.adc_config included), the default authorization. Browser
//     sessions survive and take the new roles at their next request.
//
// Needs a restart, reported as a warning notice while the rest applies:
// idp.listen, idp.public_url, idp.tls, proxy.listen, proxy.tls, proxy.hostnames,
// proxy.public_url and the session and idle timeouts (those of the ns.conf
// included): they are bound into the listeners, certificates and cookies
// already handed out. `--upstream` keeps replacing proxy.upstreams, and
// `authdev proxy --issuer` keeps its issuer.
//
// When the active environment or persona is gone, the first environment,
// or the IdP's picker, becomes active, with a notice.
func (s *Stack) Reload(cfg *config.Config) error {
	if cfg == nil || len(cfg.Environments) == 0 {
		return errors.New("the new config has no environments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cfg.Load()

	var idp *mockidp.Server
	if s.idpLn != nil {
		var err error
		if idp, err = s.newIdP(cfg); err != nil {
			return err
		}
	}
	po, warns, err := s.proxyOptions(cfg, idp)
	if err != nil {
		return err
	}
	if len(po.Upstreams) == 0 {
		if s.demoLn == nil {
			return errors.New("proxy.upstreams is empty and the demo backend is not running: add an upstream, or restart authdev up to get the demo backend")
		}
		po.Upstreams = []devproxy.Upstream{s.demoUpstream()}
	}
	// The proxy goes first: it is what can still refuse the config, and
	// the new IdP serves nothing until it is stored.
	if err := s.proxy.Reload(po); err != nil {
		return err
	}
	if idp != nil {
		s.idp.Store(idp)
	}
	s.cfg.Store(cfg)

	for _, w := range warns {
		if !slices.Contains(s.warns, w) {
			s.publish(audit.Event{Kind: audit.KindNotice, Level: "warn", Message: w})
		}
	}
	s.warns = warns
	if restart := s.needsRestart(old, cfg, po); len(restart) > 0 {
		s.publish(audit.Event{Kind: audit.KindNotice, Level: "warn",
			Message: "config changes that need a restart of authdev to apply: " + strings.Join(restart, ", ")})
	}
	if act := s.proxy.Active(); act.Persona != "" && idp != nil {
		if _, ok := cfg.Persona(act.Persona); !ok {
			if err := s.proxy.SetActive(devproxy.Active{Env: act.Env}); err == nil {
				s.publish(audit.Event{Kind: audit.KindNotice, Level: "warn", Env: act.Env,
					Message: fmt.Sprintf("persona %s is gone from the config: browser logins show the IdP's picker", act.Persona)})
			}
		}
	}
	return nil
}

// needsRestart names the settings that changed from old to cfg but cannot
// change under a running stack. Addresses replaced by flags do not count.
func (s *Stack) needsRestart(old, cfg *config.Config, po devproxy.Options) []string {
	var out []string
	for _, f := range []struct {
		name      string
		old, new  any
		overriden bool
	}{
		{"idp.listen", old.IDP.Listen, cfg.IDP.Listen, s.opts.IdPListen != "" || s.idpLn == nil},
		{"idp.public_url", old.IDP.PublicURL, cfg.IDP.PublicURL, s.idpLn == nil},
		{"idp.tls", old.IDP.TLS, cfg.IDP.TLS, s.idpLn == nil},
		{"proxy.listen", old.Proxy.Listen, cfg.Proxy.Listen, s.opts.ProxyListen != ""},
		{"proxy.tls", old.Proxy.TLSEnabled(), cfg.Proxy.TLSEnabled(), false},
		{"proxy.hostnames", old.Proxy.Hostnames, cfg.Proxy.Hostnames, false},
		{"proxy.public_url", old.Proxy.PublicURL, cfg.Proxy.PublicURL, false},
		{"proxy.idle_timeout", old.Proxy.IdleTimeout, cfg.Proxy.IdleTimeout, false},
		{"proxy.request_timeout", old.Proxy.RequestTimeout, cfg.Proxy.RequestTimeout, false},
	} {
		if !f.overriden && !reflect.DeepEqual(f.old, f.new) {
			out = append(out, f.name)
		}
	}
	// The session timeout may come from proxy.session_timeout or from the
	// ns.conf; compare what the proxy would get.
	if po.SessionTimeout != s.sessionTimeout {
		out = append(out, "the session timeout (proxy.session_timeout or the ns.conf's -sessTimeout)")
	}
	return out
}
