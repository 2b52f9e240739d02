package mockidp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/flavor"
	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/internal/state"
)

// Options are New's inputs besides the configuration. Zero values use the
// process's: the system clock and crypto/rand.
type Options struct {
	// Store holds the signing keys (per environment) and the proxy client's
	// secret. Keys are generated once and reused at every start.
	Store state.Store
	// BaseURL is the public base, e.g. "http://localhost:9400"; the issuer
	// of env is BaseURL + "/" + env. Default: idp.public_url, else
	// http://localhost:<port of the listener given to Start, or idp.listen>.
	BaseURL string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Rand is the source of codes, tokens and IDs; default crypto/rand.
	Rand io.Reader
	// Events receives login, logout and token_refused events; optional.
	Events func(audit.Event)
	// TLS, when set, makes Start serve HTTPS and default issuers
	// https://localhost:<port>/...; TLSConfig builds it from authdev's
	// local CA for idp.tls.
	TLS *tls.Config

	// KeyReload is how often a started server re-reads its signing keys
	// from the store, so that `authdev keys rotate` in another process takes
	// effect. Default 2s; negative turns it off.
	KeyReload time.Duration
	// DeviceInterval is the polling interval of the device flow (RFC 8628
	// §3.2); default 5s.
	DeviceInterval time.Duration
	// RefreshTTL is the lifetime of refresh tokens; default 24h.
	RefreshTTL time.Duration
	// SessionTTL is the lifetime of a browser session at the IdP; default 12h.
	SessionTTL time.Duration
}

// Lifetimes and bounds of what the server remembers. Access and ID tokens
// are self-contained JWTs and never stored.
const (
	codeTTL     = 60 * time.Second
	deviceTTL   = 10 * time.Minute
	maxCodes    = 20_000
	maxSessions = 20_000
	maxRefresh  = 100_000
	maxDevices  = 5_000
	maxRevoked  = 100_000
)

// Server is the mock identity provider.
type Server struct {
	cfg     *config.Config
	store   state.Store
	now     func() time.Time
	rand    io.Reader
	events  func(audit.Event)
	opts    Options
	grace   time.Duration
	ttl     time.Duration
	clients map[string]*client
	samlSPs *samlSPs

	envs     map[string]*envState
	base     atomic.Pointer[string]
	basePath string
	fixed    bool // BaseURL came from Options or idp.public_url

	codes    *ttlStore[*authCode]
	sessions *ttlStore[*session]
	refresh  *ttlStore[*refreshRecord]
	devices  *ttlStore[*deviceGrant]
	userCode *ttlStore[string]
	revoked  *ttlStore[struct{}]
	// samlArtifacts are Responses issued by the HTTP-Artifact binding,
	// awaiting resolution.
	samlArtifacts *ttlStore[*issuedArtifact]

	// signing bounds concurrent signatures to the CPUs: beyond that,
	// requests only queue inside the signer and the p99 latency balloons.
	signing chan struct{}

	pages   *template.Template
	handler http.Handler

	mu      sync.Mutex
	srv     *http.Server
	stop    chan struct{}
	stopped sync.WaitGroup

	// ttlDrill, when not zero, replaces ttl for the tokens issued from now
	// on (the token-lifetime failure drill).
	ttlDrill atomic.Int64
}

// envState is one environment as the IdP serves it.
type envState struct {
	cfg    *config.Environment
	flavor *flavor.Spec
	layout flavor.Layout
	ep     *issuerEP
	keys   atomic.Pointer[keySet]
	saml   atomic.Pointer[samlKeySet]
	samlMu sync.Mutex // one creation of the SAML keys
}

// New builds a server for cfg. It reads (or creates, the first time) the
// signing keys of every environment from opts.Store.
func New(cfg *config.Config, opts Options) (*Server, error) {
	if cfg == nil || len(cfg.Environments) == 0 {
		return nil, errors.New("mockidp: no configuration: load one with config.Load")
	}
	if opts.Store == nil {
		return nil, errors.New("mockidp: Options.Store is nil: pass a state store (state.NewMemory() in tests)")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.KeyReload == 0 {
		opts.KeyReload = 2 * time.Second
	}
	if opts.DeviceInterval <= 0 {
		opts.DeviceInterval = 5 * time.Second
	}
	if opts.RefreshTTL <= 0 {
		opts.RefreshTTL = 24 * time.Hour
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	s := &Server{
		cfg: cfg, store: opts.Store, now: opts.Now, rand: opts.Rand, events: opts.Events, opts: opts,
		grace: KeyGrace(cfg), ttl: cfg.IDP.TokenTTL.D(),
		envs:    map[string]*envState{},
		signing: make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
	if err := s.initBase(); err != nil {
		return nil, err
	}
	secret, err := ProxyClientSecret(opts.Store)
	if err != nil {
		return nil, err
	}
	s.clients = newClients(cfg, secret)
	if s.samlSPs, err = newSAMLSPs(cfg, s.now); err != nil {
		return nil, err
	}
	// Environments load (and on first start generate) their keys in
	// parallel: three RSA-2048 keys one after another cost most of a cold
	// start.
	sets := make([]*keySet, len(cfg.Environments))
	var g errgroup.Group
	for i := range cfg.Environments {
		g.Go(func() (err error) {
			sets[i], err = loadKeys(opts.Store, cfg, &cfg.Environments[i], s.now())
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i := range cfg.Environments {
		e := &cfg.Environments[i]
		spec := flavor.Of(e.Flavor)
		es := &envState{cfg: e, flavor: spec, layout: spec.Layout(e)}
		es.ep = &issuerEP{s: s, env: es, prefix: es.layout.Issuer}
		es.keys.Store(sets[i])
		s.envs[e.Name] = es
	}
	s.codes = newTTLStore[*authCode](s.now, codeTTL, maxCodes)
	s.sessions = newTTLStore[*session](s.now, opts.SessionTTL, maxSessions)
	s.refresh = newTTLStore[*refreshRecord](s.now, opts.RefreshTTL, maxRefresh)
	s.devices = newTTLStore[*deviceGrant](s.now, deviceTTL, maxDevices)
	s.userCode = newTTLStore[string](s.now, deviceTTL, maxDevices)
	s.revoked = newTTLStore[struct{}](s.now, s.ttl+time.Minute, maxRevoked)
	s.samlArtifacts = newTTLStore[*issuedArtifact](s.now, samlArtifactTTL, maxSAMLArtifacts)
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// initBase settles the public base URL: Options.BaseURL, idp.public_url, or
// localhost with idp.listen's port until Start learns the real one.
func (s *Server) initBase() error {
	base := s.opts.BaseURL
	if base == "" {
		base = s.cfg.IDP.PublicURL
	}
	s.fixed = base != ""
	if base == "" {
		_, port, err := net.SplitHostPort(s.cfg.IDP.Listen)
		if err != nil {
			return fmt.Errorf("idp.listen %q is not host:port: write it like 127.0.0.1:9400", s.cfg.IDP.Listen)
		}
		base = s.scheme() + "://localhost:" + port
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("base URL %q is not an absolute http(s) URL: write it like http://localhost:9400", base)
	}
	base = strings.TrimRight(base, "/")
	s.basePath = strings.TrimRight(u.EscapedPath(), "/")
	s.base.Store(&base)
	return nil
}

func (s *Server) scheme() string {
	if s.opts.TLS != nil {
		return "https"
	}
	return "http"
}

// TLSConfig is the server side of idp.tls: a certificate from authdev's
// local CA for localhost, 127.0.0.1 and ::1, so clients that trust the CA
// (`authdev ca print`) verify every loopback name.
func TLSConfig(ca *pki.CA, now time.Time, random io.Reader) (*tls.Config, error) {
	leaf, err := ca.Issue(nil, now, random)
	if err != nil {
		return nil, fmt.Errorf("issue the IdP's certificate from the local CA: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12}, nil
}

// Handler serves every environment's endpoints.
func (s *Server) Handler() http.Handler { return s.handler }

// Start serves on ln in the background until Close. Unless the base URL was
// fixed, issuers take the listener's port.
func (s *Server) Start(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("mockidp: server already started")
	}
	if !s.fixed {
		if addr, ok := ln.Addr().(*net.TCPAddr); ok {
			base := fmt.Sprintf("%s://localhost:%d", s.scheme(), addr.Port)
			s.base.Store(&base)
		}
	}
	if s.opts.TLS != nil {
		ln = tls.NewListener(ln, s.opts.TLS)
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	s.srv = srv
	s.stop = make(chan struct{})
	s.stopped.Add(1)
	go func() {
		defer s.stopped.Done()
		_ = srv.Serve(ln)
	}()
	if s.opts.KeyReload > 0 {
		s.stopped.Add(1)
		go s.watchKeys(s.opts.KeyReload, s.stop)
	}
	return nil
}

// Close stops a started server, letting requests in flight finish for up
// to five seconds.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.srv
	if srv == nil {
		s.mu.Unlock()
		return nil
	}
	close(s.stop)
	s.srv = nil
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = srv.Close()
	}
	s.stopped.Wait()
	return err
}

// BaseURL is the public base every issuer starts with.
func (s *Server) BaseURL() string { return *s.base.Load() }

// Issuer is env's issuer URL, shaped by its flavor: BaseURL/env for the
// generic flavor, BaseURL/env/oauth2/default for okta, and so on.
func (s *Server) Issuer(env string) string {
	if es, ok := s.envs[env]; ok {
		return es.ep.issuer()
	}
	return s.BaseURL() + "/" + env
}

// IssuerOf is the issuer of environment env of cfg for an IdP serving at
// base, for callers that reach a running IdP without building one.
func IssuerOf(base string, cfg *config.Config, env string) string {
	base = strings.TrimRight(base, "/")
	e, ok := cfg.Environment(env)
	if !ok {
		return base + "/" + env
	}
	return base + flavor.Of(e.Flavor).Layout(e).Issuer
}

// Config is the configuration the server was built from.
func (s *Server) Config() *config.Config { return s.cfg }

// ProxyClientSecret is the built-in proxy client's secret.
func (s *Server) ProxyClientSecret() string { return s.clients[config.ProxyClientID].secret }

// Endpoints are an issuer's URLs, as its discovery document lists them.
type Endpoints struct {
	Issuer              string
	Discovery           string
	Authorization       string
	Token               string
	UserInfo            string
	JWKS                string
	Introspection       string
	Revocation          string
	EndSession          string
	DeviceAuthorization string
	DeviceVerification  string
}

// Endpoints returns env's URLs.
func (s *Server) Endpoints(env string) Endpoints {
	if es, ok := s.envs[env]; ok {
		return es.ep.endpoints()
	}
	return Endpoints{}
}

func endpointsOf(base string, l flavor.Layout) Endpoints {
	return Endpoints{
		Issuer:              base + l.Issuer,
		Discovery:           base + strings.TrimSuffix(l.Issuer, "/") + wellKnownOIDC,
		Authorization:       base + l.Authorization,
		Token:               base + l.Token,
		UserInfo:            base + l.UserInfo,
		JWKS:                base + l.JWKS,
		Introspection:       base + l.Introspection,
		Revocation:          base + l.Revocation,
		EndSession:          base + l.EndSession,
		DeviceAuthorization: base + l.DeviceAuthorization,
		DeviceVerification:  base + l.DeviceVerification,
	}
}

// SetTokenLifetime makes the access and ID tokens issued from now on live
// d; 0 goes back to idp.token_ttl. Tokens already issued keep their exp.
func (s *Server) SetTokenLifetime(d time.Duration) { s.ttlDrill.Store(int64(d)) }

// tokenTTL is the lifetime of the tokens issued now.
func (s *Server) tokenTTL() time.Duration {
	if d := time.Duration(s.ttlDrill.Load()); d > 0 {
		return d
	}
	return s.ttl
}

// RotateKeys publishes a new signing key for env and keeps the previous one
// in the JWKS for the grace period (token TTL + 5 min); the SAML key and
// certificate rotate alike.
func (s *Server) RotateKeys(env string) error {
	if _, err := RotateStoredKeys(s.store, s.cfg, env, s.now()); err != nil {
		return err
	}
	if _, err := RotateStoredSAMLKeys(s.store, s.cfg, env, s.now()); err != nil {
		return err
	}
	return s.ReloadKeys()
}

// ReloadKeys re-reads every environment's keys from the store, taking any
// rotation done elsewhere (`authdev keys rotate`). A started server does it
// every Options.KeyReload.
func (s *Server) ReloadKeys() error {
	var errs []error
	for name, es := range s.envs {
		raw, err := s.store.Get(KeysStoreKey(name))
		if err != nil {
			errs = append(errs, fmt.Errorf("reload keys of %q: %w", name, err))
			continue
		}
		if string(raw) == string(es.keys.Load().raw) {
			continue
		}
		ks, err := parseKeySet(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("reload keys of %q: %w", name, err))
			continue
		}
		es.keys.Store(ks)
		s.emit(audit.Event{Kind: audit.KindNotice, Env: name, Level: "info",
			Message: fmt.Sprintf("signing key of %s is now %s", name, ks.active.kid)})
	}
	for name, es := range s.envs {
		if changed, err := s.reloadSAMLKeys(es); err != nil {
			errs = append(errs, fmt.Errorf("reload SAML keys of %q: %w", name, err))
		} else if changed {
			s.emit(audit.Event{Kind: audit.KindNotice, Env: name, Level: "info",
				Message: fmt.Sprintf("SAML signing key of %s is now %s", name, es.saml.Load().active.kid)})
		}
	}
	return errors.Join(errs...)
}

func (s *Server) watchKeys(every time.Duration, stop <-chan struct{}) {
	defer s.stopped.Done()
	WatchKeys(every, stop, s.ReloadKeys, func(err error) {
		s.emit(audit.Event{Kind: audit.KindNotice, Level: "error", Message: err.Error()})
	})
}

// WatchKeys calls reload every interval until stop is closed, which is how
// a running IdP takes `authdev keys rotate` done by another process. A
// failure is reported once, not at every tick, until reload works again.
func WatchKeys(every time.Duration, stop <-chan struct{}, reload func() error, report func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			err := reload()
			switch {
			case err == nil:
				lastErr = ""
			case err.Error() != lastErr:
				lastErr = err.Error()
				report(err)
			}
		}
	}
}

func (s *Server) emit(e audit.Event) {
	if s.events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	s.events(e)
}
