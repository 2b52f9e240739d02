package stack

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/demoapp"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
	"github.com/authdev/authdev/tui"
)

// Upstream names the proxy gives backends it was not configured with.
const (
	// FlagUpstreamName is the upstream of `--upstream URL`: the audience of
	// the assertions that backend receives.
	FlagUpstreamName = "app"
	// DemoUpstreamName is the embedded demo backend's upstream.
	DemoUpstreamName = "demo"
)

// Options configure a stack.
type Options struct {
	Config     *config.Config
	ConfigFile string
	Store      state.Store
	// Env and Persona are the active environment (default the first) and
	// persona ("" shows the IdP's picker).
	Env     string
	Persona string
	// Upstream replaces the configured upstreams: "URL" (named "app") or
	// "NAME=URL".
	Upstream string
	// ProxyListen and IdPListen replace proxy.listen and idp.listen
	// (tests use 127.0.0.1:0).
	ProxyListen string
	IdPListen   string
	// Events receives the audit trail besides the broker (the audit log).
	Events func(audit.Event)
	// Detail puts claims, headers and traces in request events (the TUI).
	Detail bool
	Now    func() time.Time
	Rand   io.Reader
}

// Issuer is the single tenant of `authdev proxy --issuer`.
type Issuer struct {
	URL          string
	ClientID     string
	ClientSecret string
	// Audience of accepted bearer tokens; default the client ID.
	Audience string
	// Env names the environment in events and assertions; default "external".
	Env string
}

// Stack is a running (or ready to run) composition.
type Stack struct {
	cfg        *config.Config
	configFile string
	store      state.Store
	secrets    *Secrets
	ca         *pki.CA
	broker     *audit.Broker
	events     func(audit.Event)
	now        func() time.Time
	rand       io.Reader

	idp     *mockidp.Server
	idpLn   net.Listener
	proxy   *devproxy.Proxy
	proxyLn net.Listener
	demo    *http.Server
	demoLn  net.Listener
	warns   []string
}

// Up builds the whole stack of `authdev up`: it listens at once (so the
// URLs are known) and serves from Start.
func Up(opts Options) (_ *Stack, err error) {
	s, err := newStack(opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.closeListeners()
		}
	}()
	cfg := opts.Config
	idpAddr := or(opts.IdPListen, cfg.IDP.Listen)
	if s.idpLn, err = listen("the IdP", idpAddr, "idp.listen"); err != nil {
		return nil, err
	}
	baseURL := ""
	if cfg.IDP.PublicURL == "" {
		// The issuers must be right before the IdP serves: the proxy is
		// built with them.
		baseURL = "http://localhost:" + portOf(s.idpLn)
	}
	if s.idp, err = mockidp.New(cfg, mockidp.Options{Store: opts.Store, BaseURL: baseURL, Now: s.now, Rand: s.rand, Events: s.publish}); err != nil {
		return nil, err
	}
	if err := s.buildProxy(opts, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// Proxy builds the proxy alone, as `authdev proxy` runs it: in front of
// iss when given, otherwise of the issuers of an `authdev idp` started with
// the same configuration and state store.
func Proxy(opts Options, iss *Issuer) (_ *Stack, err error) {
	s, err := newStack(opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.closeListeners()
		}
	}()
	if err := s.buildProxy(opts, iss); err != nil {
		return nil, err
	}
	return s, nil
}

func newStack(opts Options) (*Stack, error) {
	if opts.Config == nil || opts.Store == nil {
		return nil, errors.New("stack: Config and Store are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	s := &Stack{cfg: opts.Config, configFile: opts.ConfigFile, store: opts.Store, broker: audit.NewBroker(),
		events: opts.Events, now: opts.Now, rand: opts.Rand}
	var err error
	if s.secrets, err = LoadSecrets(opts.Store, opts.Rand); err != nil {
		return nil, err
	}
	if opts.Config.Proxy.TLSEnabled() {
		if s.ca, err = pki.LoadOrCreate(opts.Store, opts.Now, opts.Rand); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// buildProxy makes the proxy and, when there is no upstream, the demo
// backend. iss is nil for the mock IdP's issuers.
func (s *Stack) buildProxy(opts Options, iss *Issuer) error {
	cfg := s.cfg
	var err error
	if s.proxyLn, err = listen("the proxy", or(opts.ProxyListen, cfg.Proxy.Listen), "proxy.listen"); err != nil {
		return err
	}
	publicURL := ProxyURL(cfg, s.proxyLn.Addr().String())

	eng, err := adc.Compile(cfg)
	if err != nil {
		return err
	}
	for _, w := range eng.Warnings() {
		s.warns = append(s.warns, w.String())
	}
	settings := eng.Settings()

	var po devproxy.Options
	switch {
	case iss != nil:
		po = devproxy.ConfigOptions(cfg, func(string) string { return "" }, "")
		env := or(iss.Env, "external")
		po.Environments = []devproxy.Environment{{Name: env, Issuer: strings.TrimRight(iss.URL, "/"),
			ClientID: iss.ClientID, ClientSecret: iss.ClientSecret, Audience: or(iss.Audience, iss.ClientID)}}
		opts.Env = env
	case s.idp != nil:
		po = devproxy.ConfigOptions(cfg, s.idp.Issuer, s.idp.ProxyClientSecret())
	default:
		secret, err := mockidp.ProxyClientSecret(s.store)
		if err != nil {
			return err
		}
		base, err := IdPBaseURL(cfg)
		if err != nil {
			return err
		}
		po = devproxy.ConfigOptions(cfg, func(env string) string { return base + "/" + env }, secret)
	}
	if settings.SessionTimeout > 0 {
		po.SessionTimeout = settings.SessionTimeout
	}
	for _, u := range settings.Upstreams {
		po.Upstreams = append(po.Upstreams, devproxy.UpstreamFromConfig(u))
	}
	if opts.Upstream != "" {
		u, err := ParseUpstreamFlag(opts.Upstream)
		if err != nil {
			return err
		}
		po.Upstreams = []devproxy.Upstream{u}
	}
	if len(po.Upstreams) == 0 {
		if s.idp == nil {
			return errors.New("no upstream to proxy to: pass --upstream http://127.0.0.1:8000, or add proxy.upstreams to authdev.yaml")
		}
		if err := s.buildDemo(publicURL); err != nil {
			return err
		}
		po.Upstreams = []devproxy.Upstream{{Name: DemoUpstreamName, Prefix: "/", Targets: []string{"http://" + s.demoLn.Addr().String()}}}
	}
	po.PublicURL = publicURL
	po.Env, po.Persona = opts.Env, opts.Persona
	po.Policy = eng
	po.CookieSecret = s.secrets.CookieSecret
	po.AssertionKey = s.secrets.AssertionKey
	po.Events = s.publish
	po.Detail = opts.Detail
	po.Now, po.Rand = s.now, s.rand
	po.Control = &control{s: s, token: s.secrets.ControlToken}
	if s.ca != nil {
		var names []string
		if h, _, err := net.SplitHostPort(s.proxyLn.Addr().String()); err == nil {
			names = append(names, h)
		}
		if u, err := url.Parse(publicURL); err == nil {
			names = append(names, u.Hostname())
		}
		leaf, err := s.ca.Issue(append(names, cfg.Proxy.Hostnames...), s.now(), s.rand)
		if err != nil {
			return err
		}
		po.TLSCertificate = &leaf
	}
	if opts.Persona != "" {
		if _, ok := cfg.Persona(opts.Persona); !ok && iss == nil {
			return fmt.Errorf("unknown persona %q: use one of %s", opts.Persona, strings.Join(cfg.PersonaIDs(), ", "))
		}
	}
	s.proxy, err = devproxy.New(po)
	return err
}

func (s *Stack) buildDemo(proxyURL string) error {
	var err error
	if s.demoLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return fmt.Errorf("listen for the demo backend: %w", err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if s.ca != nil {
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.ca.Pool()}}
	}
	h, err := demoapp.New(demoapp.Options{Issuer: proxyURL, Audience: DemoUpstreamName, HTTPClient: client, Now: s.now})
	if err != nil {
		return err
	}
	s.demo = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return nil
}

// Start serves everything.
func (s *Stack) Start() error {
	if s.idp != nil {
		if err := s.idp.Start(s.idpLn); err != nil {
			return err
		}
		if err := s.store.Set(ProxyURLKey, []byte(s.proxy.URL())); err != nil {
			return fmt.Errorf("record the proxy URL in the %s state store: %w", s.store.Describe(), err)
		}
	}
	if s.demo != nil {
		go s.demo.Serve(s.demoLn)
	}
	s.proxy.Start(s.proxyLn)
	for _, w := range s.warns {
		s.publish(audit.Event{Kind: audit.KindNotice, Level: "warn", Message: w})
	}
	return nil
}

// Shutdown stops the proxy first (no new requests reach the others), then
// the demo backend and the IdP.
func (s *Stack) Shutdown(ctx context.Context) error {
	err := s.proxy.Shutdown(ctx)
	if s.demo != nil {
		err = errors.Join(err, s.demo.Shutdown(ctx))
	}
	if s.idp != nil {
		err = errors.Join(err, s.idp.Close())
	}
	return err
}

func (s *Stack) closeListeners() {
	for _, ln := range []net.Listener{s.idpLn, s.proxyLn, s.demoLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

func (s *Stack) publish(e audit.Event) {
	s.broker.Publish(e)
	if s.events != nil {
		s.events(e)
	}
}

// ProxyURL is the proxy's public URL.
func (s *Stack) ProxyURL() string { return s.proxy.URL() }

// IdP is the mock IdP, nil for `authdev proxy`.
func (s *Stack) IdP() *mockidp.Server { return s.idp }

// DevProxy is the proxy.
func (s *Stack) DevProxy() *devproxy.Proxy { return s.proxy }

// CA is the local CA, nil when the proxy serves plain HTTP.
func (s *Stack) CA() *pki.CA { return s.ca }

// Warnings are the ns.conf commands the policy engine did not take.
func (s *Stack) Warnings() []string { return slices.Clone(s.warns) }

// ProxyURL is the URL browsers use for a proxy of cfg listening on addr:
// proxy.public_url, or the listen address (localhost for a wildcard one).
func ProxyURL(cfg *config.Config, addr string) string {
	if cfg.Proxy.PublicURL != "" {
		return strings.TrimRight(cfg.Proxy.PublicURL, "/")
	}
	scheme := "http"
	if cfg.Proxy.TLSEnabled() {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + "://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// IdPBaseURL is where `authdev idp` serves for cfg: idp.public_url, or
// http://localhost:<port of idp.listen>.
func IdPBaseURL(cfg *config.Config) (string, error) {
	if cfg.IDP.PublicURL != "" {
		return strings.TrimRight(cfg.IDP.PublicURL, "/"), nil
	}
	_, port, err := net.SplitHostPort(cfg.IDP.Listen)
	if err != nil {
		return "", fmt.Errorf("idp.listen %q is not host:port", cfg.IDP.Listen)
	}
	return "http://localhost:" + port, nil
}

// ParseUpstreamFlag reads --upstream: "URL" or "NAME=URL".
func ParseUpstreamFlag(v string) (devproxy.Upstream, error) {
	name, target := FlagUpstreamName, v
	if n, t, ok := strings.Cut(v, "="); ok && !strings.Contains(n, "/") && !strings.Contains(n, ":") {
		name, target = n, t
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return devproxy.Upstream{}, fmt.Errorf("--upstream %q is not an http(s) URL: write it like http://127.0.0.1:8000 or api=http://127.0.0.1:8000", v)
	}
	return devproxy.Upstream{Name: name, Prefix: "/", Targets: []string{strings.TrimRight(target, "/")}}, nil
}

func listen(what, addr, key string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s cannot listen on %s: %w: stop whatever uses it, or change %s", what, addr, err, key)
	}
	return ln, nil
}

func portOf(ln net.Listener) string {
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

var _ tui.Stack = (*Stack)(nil)
