package stack

import (
	"cmp"
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/authdev/authdev/adc"
	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/demoapp"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
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
	// AssertionIssuer replaces the proxy's URL as the issuer of the
	// identity assertions (see devproxy.Options).
	AssertionIssuer string
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
	cfg        atomic.Pointer[config.Config]
	opts       Options
	iss        *Issuer // nil: the mock IdP's issuers
	configFile string
	store      state.Store
	secrets    *Secrets
	ca         *pki.CA
	broker     *audit.Broker
	events     func(audit.Event)
	now        func() time.Time
	rand       io.Reader

	idp       atomic.Pointer[mockidp.Server] // nil for `authdev proxy`
	idpLn     net.Listener
	idpSrv    *http.Server
	idpBase   string
	idpStop   chan struct{}
	idpDone   sync.WaitGroup
	proxy     *devproxy.Proxy
	proxyLn   net.Listener
	publicURL string
	demo      *http.Server
	demoLn    net.Listener

	mu             sync.Mutex // one Reload at a time; guards warns
	warns          []string
	sessionTimeout time.Duration // as built: Reload cannot change it

	drills drillState
}

// idpKeyReload is how often the stack re-reads the IdP's signing keys from
// the state store, so that `authdev keys rotate` elsewhere takes effect.
const idpKeyReload = 2 * time.Second

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
	idpAddr := cmp.Or(opts.IdPListen, cfg.IDP.Listen)
	if s.idpLn, err = ListenLoopback("the IdP", idpAddr, "idp.listen"); err != nil {
		return nil, err
	}
	if cfg.IDP.PublicURL == "" {
		// The issuers must be right before the IdP serves: the proxy is
		// built with them.
		s.idpBase = idpScheme(cfg) + "://localhost:" + portOf(s.idpLn)
	}
	if cfg.IDP.TLS {
		tc, err := mockidp.TLSConfig(s.ca, s.now(), s.rand)
		if err != nil {
			return nil, err
		}
		s.idpLn = tls.NewListener(s.idpLn, tc)
	}
	idp, err := s.newIdP(cfg)
	if err != nil {
		return nil, err
	}
	s.idp.Store(idp)
	// IdPs that Reload builds keep these issuers, whatever idp.public_url
	// says by then: the proxy's sessions and the backends know them.
	s.idpBase = idp.BaseURL()
	if err := s.buildProxy(); err != nil {
		return nil, err
	}
	return s, nil
}

// Proxy builds the proxy alone, as `authdev proxy` runs it: in front of
// iss when given (its empty fields taken from the ns.conf's OAuth action),
// otherwise of the ns.conf OAuth action's issuer when it names one,
// otherwise of the issuers of an `authdev idp` started with the same
// configuration and state store.
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
	s.iss = iss
	if err := s.buildProxy(); err != nil {
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
	s := &Stack{opts: opts, configFile: opts.ConfigFile, store: opts.Store, broker: audit.NewBroker(),
		events: opts.Events, now: opts.Now, rand: opts.Rand}
	s.cfg.Store(opts.Config)
	var err error
	if s.secrets, err = LoadSecrets(opts.Store, opts.Rand); err != nil {
		return nil, err
	}
	if opts.Config.Proxy.TLSEnabled() || opts.Config.IDP.TLS {
		if s.ca, err = pki.LoadOrCreate(opts.Store, opts.Now, opts.Rand); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// newIdP builds a mock IdP for cfg. Its keys and the proxy's client secret
// come from the state store, so an IdP built by Reload signs with the same
// keys as the one it replaces.
func (s *Stack) newIdP(cfg *config.Config) (*mockidp.Server, error) {
	return mockidp.New(cfg, mockidp.Options{Store: s.store, BaseURL: s.idpBase, Now: s.idpNow, Rand: s.rand,
		Events: s.publish, KeyReload: -1})
}

// buildProxy makes the proxy and, when there is no upstream, the demo
// backend.
func (s *Stack) buildProxy() error {
	cfg := s.cfg.Load()
	var err error
	if s.proxyLn, err = ListenLoopback("the proxy", cmp.Or(s.opts.ProxyListen, cfg.Proxy.Listen), "proxy.listen"); err != nil {
		return err
	}
	s.publicURL = ProxyURL(cfg, s.proxyLn.Addr().String())
	po, warns, err := s.proxyOptions(cfg, s.idp.Load())
	if err != nil {
		return err
	}
	s.warns, s.sessionTimeout = warns, po.SessionTimeout
	if len(po.Upstreams) == 0 {
		if s.idp.Load() == nil {
			return errors.New("no upstream to proxy to: pass --upstream http://127.0.0.1:8000, or add proxy.upstreams to authdev.yaml")
		}
		if err := s.buildDemo(s.publicURL); err != nil {
			return err
		}
		po.Upstreams = []devproxy.Upstream{s.demoUpstream()}
	}
	if po.Env == "" {
		po.Env = s.opts.Env
	}
	po.Persona = s.opts.Persona
	po.CookieSecret = s.secrets.CookieSecret
	po.AssertionKey = s.secrets.AssertionKey
	po.State = s.store
	po.Events = s.publish
	po.Detail = s.opts.Detail
	po.Now, po.Rand = s.now, s.rand
	po.Control = &control{s: s, token: s.secrets.ControlToken}
	if s.iss == nil {
		if po.IdPClient, err = IdPHTTPClient(cfg, s.store); err != nil {
			return err
		}
	}
	if s.ca != nil {
		var names []string
		if h, _, err := net.SplitHostPort(s.proxyLn.Addr().String()); err == nil {
			names = append(names, h)
		}
		if u, err := url.Parse(s.publicURL); err == nil {
			names = append(names, u.Hostname())
		}
		leaf, err := s.ca.Issue(append(names, cfg.Proxy.Hostnames...), s.now(), s.rand)
		if err != nil {
			return err
		}
		po.TLSCertificate = &leaf
	}
	if s.opts.Persona != "" && s.idp.Load() != nil {
		if _, ok := cfg.Persona(s.opts.Persona); !ok {
			return cfg.UnknownPersona(s.opts.Persona)
		}
	}
	s.proxy, err = devproxy.New(po)
	return err
}

// proxyOptions is what cfg decides of the proxy: environments, upstreams,
// policy engine, owned headers, timeouts and personas; empty Upstreams
// when the demo backend is needed. idp is the mock IdP, nil for `authdev
// proxy`. It also returns the ns.conf's warnings.
func (s *Stack) proxyOptions(cfg *config.Config, idp *mockidp.Server) (devproxy.Options, []string, error) {
	eng, err := adc.Compile(cfg)
	if err != nil {
		return devproxy.Options{}, nil, err
	}
	// A real ns.conf holds many lines that change nothing for authdev
	// (SSL ciphers, SNMP...): name only those able to change a decision.
	var warns []string
	for _, w := range eng.Warnings() {
		if w.Effect == adc.EffectDecision {
			warns = append(warns, w.String())
		}
	}
	if n := eng.Lines().Understood; n > 0 {
		warns = append(warns, fmt.Sprintf("%d ns.conf lines are understood and not emulated, with no effect on HTTP decisions: `authdev adc check` lists them", n))
	}
	settings := eng.Settings()

	var po devproxy.Options
	iss, why, err := s.issuer(settings.OAuth)
	if err != nil {
		return devproxy.Options{}, nil, err
	}
	if why != "" {
		warns = append(warns, why)
	}
	switch {
	case iss != nil:
		po = ConfigOptions(cfg, func(string) string { return "" }, "")
		env := cmp.Or(iss.Env, "external")
		po.Environments = []devproxy.Environment{{Name: env, Issuer: strings.TrimRight(iss.URL, "/"),
			ClientID: iss.ClientID, ClientSecret: iss.ClientSecret, Audience: cmp.Or(iss.Audience, iss.ClientID)}}
		po.Env = env
	case idp != nil:
		po = ConfigOptions(cfg, idp.Issuer, idp.ProxyClientSecret())
		SAMLLogins(&po, cfg, idp.BaseURL())
	default:
		secret, err := mockidp.ProxyClientSecret(s.store)
		if err != nil {
			return devproxy.Options{}, nil, err
		}
		base, err := IdPBaseURL(cfg)
		if err != nil {
			return devproxy.Options{}, nil, err
		}
		po = ConfigOptions(cfg, func(env string) string { return mockidp.IssuerOf(base, cfg, env) }, secret)
		SAMLLogins(&po, cfg, base)
	}
	// The OAuth action's userNameField is how the ADC fills AAA.USER.NAME,
	// whichever issuer logs the user in.
	if o := settings.OAuth; o != nil && o.UserNameField != "" {
		for i := range po.Environments {
			po.Environments[i].UserNameClaim = o.UserNameField
		}
	}
	po.PublicURL = s.publicURL
	warns = append(warns, SAMLActions(&po, cfg, settings.Authn, idp)...)
	if settings.SessionTimeout > 0 {
		po.SessionTimeout = settings.SessionTimeout
	}
	po.Upstreams = MergeUpstreams(po.Upstreams, settings.Upstreams)
	if s.opts.Upstream != "" {
		u, err := ParseUpstreamFlag(s.opts.Upstream)
		if err != nil {
			return devproxy.Options{}, nil, err
		}
		po.Upstreams = []devproxy.Upstream{u}
	}
	po.AssertionIssuer = s.opts.AssertionIssuer
	po.Policy = eng
	return po, warns, nil
}

// issuer is the external issuer the proxy is a relying party of: the
// flags of `authdev proxy` (s.iss), with what they leave empty taken from
// the ns.conf's OAuth action; nil for the mock IdP's issuers. `authdev up`
// always uses its own IdP: there the OAuth action gives only the user name
// claim. why, when not "", is a warning about a secret it cannot use.
func (s *Stack) issuer(o *adc.OAuthAction) (iss *Issuer, why string, err error) {
	if s.idpLn != nil {
		return nil, "", nil
	}
	merged := Issuer{}
	if s.iss != nil {
		merged = *s.iss
	}
	fromConf := merged.URL == "" && o != nil
	if o != nil {
		merged.URL = cmp.Or(merged.URL, oauthIssuer(o))
	}
	if merged.URL == "" {
		if merged.ClientID != "" || merged.Audience != "" {
			return nil, "", errors.New("--client-id and --audience go with --issuer: add --issuer URL, or an OAuth action with -issuer to the ns.conf")
		}
		return nil, "", nil
	}
	if o != nil {
		merged.ClientID = cmp.Or(merged.ClientID, o.ClientID)
		merged.Audience = cmp.Or(merged.Audience, o.Audience)
		if merged.ClientSecret == "" && o.ClientSecret != "" {
			if o.Encrypted {
				why = fmt.Sprintf("OAuth action %q (%s): its -clientSecret is encrypted by the ADC and cannot be used: pass --client-secret or set $AUTHDEV_CLIENT_SECRET for browser logins (bearer tokens work without it)", o.Name, filePos(o.Pos))
			} else {
				merged.ClientSecret = o.ClientSecret
			}
		}
		if fromConf && merged.Env == "" {
			merged.Env = o.Name
		}
	}
	if merged.ClientID == "" {
		return nil, "", fmt.Errorf("--issuer %s needs --client-id (and --client-secret for a confidential client)", merged.URL)
	}
	return &merged, why, nil
}

// filePos is file:line of a config position.
func filePos(p config.Pos) string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// oauthIssuer is the OAuth action's -issuer, or the issuer its
// -metadataUrl is the discovery document of.
func oauthIssuer(o *adc.OAuthAction) string {
	if o.Issuer != "" {
		return o.Issuer
	}
	if m, ok := strings.CutSuffix(o.MetadataURL, "/.well-known/openid-configuration"); ok {
		return m
	}
	return ""
}

// MergeUpstreams joins the upstreams of authdev.yaml and of the ns.conf's
// lb vservers. A vserver maps to the YAML upstream of the same name: what
// the YAML sets wins (targets, prefix: how it runs on this machine), and
// the vserver fills in what the YAML leaves out (lb method, monitor,
// -authn401, host, timeout). Other vservers become upstreams of their own.
func MergeUpstreams(yaml []devproxy.Upstream, ns []config.Upstream) []devproxy.Upstream {
	out := slices.Clone(yaml)
	for _, c := range ns {
		v := UpstreamFromConfig(c)
		i := slices.IndexFunc(out, func(u devproxy.Upstream) bool { return u.Name == v.Name })
		if i < 0 {
			out = append(out, v)
			continue
		}
		u := &out[i]
		if u.LB == "" {
			u.LB = v.LB
		}
		if u.Monitor == nil {
			u.Monitor = v.Monitor
		}
		u.API = u.API || v.API
		if u.Host == "" {
			u.Host = v.Host
		}
		if u.Timeout == 0 {
			u.Timeout = v.Timeout
		}
		if len(u.Targets) == 0 {
			u.Targets = v.Targets
		}
		if u.Prefix == "" {
			u.Prefix = v.Prefix
		}
	}
	return out
}

func (s *Stack) demoUpstream() devproxy.Upstream {
	// Monitored like a configured backend, so its health is known from the
	// start.
	return devproxy.Upstream{Name: DemoUpstreamName, Prefix: "/", Targets: []string{"http://" + s.demoLn.Addr().String()},
		Monitor: &devproxy.Monitor{Path: "/healthz"}}
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
	if s.idpLn != nil {
		// The stack serves the IdP itself, through whichever mock IdP is
		// current, so that Reload can replace it under the same listener.
		s.idpSrv = &http.Server{ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if s.unreachable(w, r) {
					return
				}
				s.idp.Load().Handler().ServeHTTP(w, r)
			})}
		s.idpStop = make(chan struct{})
		s.idpDone.Add(2)
		go func() {
			defer s.idpDone.Done()
			_ = s.idpSrv.Serve(s.idpLn)
		}()
		go s.watchIdPKeys()
		if err := s.store.Set(ProxyURLKey, []byte(s.proxy.URL())); err != nil {
			return fmt.Errorf("record the proxy URL in the %s state store: %w", s.store.Describe(), err)
		}
	}
	if s.demo != nil {
		go s.demo.Serve(s.demoLn)
	}
	s.proxy.Start(s.proxyLn)
	for _, w := range s.Warnings() {
		s.publish(audit.Event{Kind: audit.KindNotice, Level: "warn", Message: w})
	}
	return nil
}

// watchIdPKeys takes key rotations done by another process (`authdev keys
// rotate`) into whichever mock IdP is current.
func (s *Stack) watchIdPKeys() {
	defer s.idpDone.Done()
	mockidp.WatchKeys(idpKeyReload, s.idpStop, func() error { return s.idp.Load().ReloadKeys() }, func(err error) {
		s.publish(audit.Event{Kind: audit.KindNotice, Level: "error", Message: err.Error()})
	})
}

// Shutdown stops the proxy first (no new requests reach the others), then
// the demo backend and the IdP.
func (s *Stack) Shutdown(ctx context.Context) error {
	err := s.proxy.Shutdown(ctx)
	if s.demo != nil {
		err = errors.Join(err, s.demo.Shutdown(ctx))
	}
	if s.idpSrv != nil {
		close(s.idpStop)
		if e := s.idpSrv.Shutdown(ctx); e != nil {
			err = errors.Join(err, s.idpSrv.Close())
		}
		s.idpDone.Wait()
		s.idpSrv = nil
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
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	s.broker.Publish(e)
	if s.events != nil {
		s.events(e)
	}
}

// Notify publishes e to the TUI and the audit log, as the stack's own
// notices are (cfgwatch reports through it).
func (s *Stack) Notify(e audit.Event) { s.publish(e) }

// Config is the configuration running now.
func (s *Stack) Config() *config.Config { return s.cfg.Load() }

// ProxyURL is the proxy's public URL.
func (s *Stack) ProxyURL() string { return s.proxy.URL() }

// IdP is the mock IdP, nil for `authdev proxy`. After a Reload it is the
// new one.
func (s *Stack) IdP() *mockidp.Server { return s.idp.Load() }

// DevProxy is the proxy.
func (s *Stack) DevProxy() *devproxy.Proxy { return s.proxy }

// CA is the local CA, nil when the proxy serves plain HTTP.
func (s *Stack) CA() *pki.CA { return s.ca }

// Warnings are the ns.conf commands the policy engine did not take, and
// settings of the OAuth action the proxy cannot use.
func (s *Stack) Warnings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.warns)
}

// ProxyURL is the URL browsers use for a proxy of cfg listening on addr:
// proxy.public_url, or the listen address (localhost for a wildcard one).
func ProxyURL(cfg *config.Config, addr string) string { return cfg.Proxy.BrowserURL(addr) }

// IdPBaseURL is where `authdev idp` serves for cfg: idp.public_url, or
// http(s)://localhost:<port of idp.listen>.
func IdPBaseURL(cfg *config.Config) (string, error) {
	if cfg.IDP.PublicURL != "" {
		return strings.TrimRight(cfg.IDP.PublicURL, "/"), nil
	}
	_, port, err := net.SplitHostPort(cfg.IDP.Listen)
	if err != nil {
		return "", fmt.Errorf("idp.listen %q is not host:port", cfg.IDP.Listen)
	}
	return idpScheme(cfg) + "://localhost:" + port, nil
}

// IdPHTTPClient talks to the mock IdP of cfg: under idp.tls it trusts
// authdev's local CA from store, which issued the IdP's certificate.
func IdPHTTPClient(cfg *config.Config, store state.Store) (*http.Client, error) {
	client := &http.Client{Timeout: 15 * time.Second}
	if !cfg.IDP.TLS {
		return client, nil
	}
	ca, err := pki.LoadOrCreate(store, time.Now, rand.Reader)
	if err != nil {
		return nil, err
	}
	client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}}
	return client, nil
}

// idpScheme is https under idp.tls.
func idpScheme(cfg *config.Config) string {
	if cfg.IDP.TLS {
		return "https"
	}
	return "http"
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
