package cli

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/spf13/cobra"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/devproxy"
	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/internal/backendcheck"
	"github.com/authdev/authdev/internal/openapi"
	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/state"
)

// VerifyBackendOptions are the inputs of `authdev verify-backend`.
type VerifyBackendOptions struct {
	Deps

	Upstream string
	Path     string
	Method   string
	Env      string
	Issuer   string
	Leeway   time.Duration
	ReportFlags
}

// NewCmdVerifyBackend builds `authdev verify-backend`.
func NewCmdVerifyBackend(f *Factory, runF func(context.Context, *VerifyBackendOptions) error) *cobra.Command {
	opts := &VerifyBackendOptions{Deps: f.deps()}
	cmd := longRunning(&cobra.Command{
		Use:   "verify-backend",
		Short: "Send forged identities straight to the backend; fail if it accepts one",
		Long: `Send requests directly to the backend, not through the proxy, and check that
it trusts the proxy's signed assertion (X-Authdev-Assertion) and nothing else.

First a genuine assertion, signed with the proxy's key from the state store
(the key a running ` + "`authdev up`" + ` publishes at /.authdev/jwks.json), for each
persona in turn until the backend accepts one. Then, on top of that
persona's claims, one forgery per case: X-Remote-* headers and no
assertion; another key under the proxy's kid; a kid the JWKS lacks; alg
none; HS256 keyed with the proxy's public key; expired; not yet valid;
another upstream's audience; another issuer; a genuine assertion for a
caller without roles sent with the allowed persona's headers; and a
genuine assertion replayed after it expired (this one waits out the
backend's --leeway).

The backend fetches the proxy's keys from its issuer. When no proxy answers
there, verify-backend starts one at that address for the run, with the
keys and CA of the state store.

Output: a table (case, expected, got, verdict) with a fix for each failed
case, or --json; --junit FILE also writes JUnit XML. Exit 0 when every
forgery is refused and the genuine assertion accepted, 1 otherwise, 2 for
bad usage.`,
		Example: `  authdev verify-backend --upstream http://127.0.0.1:8000 --path /admin/users
  authdev verify-backend --junit backend.xml`,
	}, opts, runF, verifyBackendRun)
	fl := cmd.Flags()
	fl.StringVar(&opts.Upstream, "upstream", "", "the backend: URL (upstream \"app\") or NAME=URL; default the first of proxy.upstreams")
	fl.StringVar(&opts.Path, "path", "", "a protected route of the backend (default the first GET check's path, else the first GET route of its OpenAPI document it refuses without identity, else /)")
	fl.StringVar(&opts.Method, "method", http.MethodGet, "the request method")
	fl.StringVar(&opts.Env, "env", "", "environment whose roles the personas hold (default the first)")
	fl.StringVar(&opts.Issuer, "issuer", "", "the proxy URL the backend trusts (default the URL of proxy.listen)")
	fl.DurationVar(&opts.Leeway, "leeway", 10*time.Second, "clock skew the backend tolerates on exp and nbf (the examples' AUTHDEV_LEEWAY)")
	opts.ReportFlags.bind(cmd)
	return cmd
}

func verifyBackendRun(ctx context.Context, opts *VerifyBackendOptions) error {
	var t *backendcheck.Target
	cfg, userStore, err := opts.load(func(cfg *config.Config) (err error) {
		t, err = backendTarget(cfg, opts)
		return err
	})
	if err != nil {
		return err
	}
	// Whatever is missing (a key, a CA) is made in memory: the run leaves
	// nothing behind.
	store := &overlayStore{base: userStore, mem: state.NewMemory()}
	secrets, err := stack.LoadSecrets(store, rand.Reader)
	if err != nil {
		return err
	}
	t.Key = secrets.AssertionKey
	if t.Path == "" {
		t.Path = openAPIProtectedPath(ctx, t.URL)
	}
	stop, err := publishAssertionKey(ctx, opts, cfg, store, t)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(opts.IO.ErrOut, "authdev verify-backend: %s %s%s straight to the backend, issuer %s, audience %q\n",
		t.Method, t.URL, t.Path, t.Issuer, t.Audience)
	start := opts.Now()
	results, err := backendcheck.Run(ctx, t)
	if err != nil {
		return err
	}
	report := backendcheck.Report{Backend: t.URL, Request: t.Method + " " + t.Path, Issuer: t.Issuer,
		Audience: t.Audience, Results: results, Duration: opts.Now().Sub(start)}
	return writeBackendReport(opts, report)
}

func writeBackendReport(opts *VerifyBackendOptions, report backendcheck.Report) error {
	if err := writeReport(opts.IO, "authdev verify-backend", report, opts.ReportFlags); err != nil {
		return err
	}
	if !report.OK() {
		return &SilentError{Code: ExitFailure}
	}
	return nil
}

// genuineSettle covers a backend's minimum time between two downloads of
// the proxy's keys (5 s in both examples), and some.
const genuineSettle = 10 * time.Second

// backendTarget settles everything but the key from the flags and the
// config: bad usage is found before anything starts.
func backendTarget(cfg *config.Config, opts *VerifyBackendOptions) (*backendcheck.Target, error) {
	env := cmp.Or(opts.Env, cfg.DefaultEnvironment())
	e, ok := cfg.Environment(env)
	if !ok {
		return nil, usageErrorf("--env %q: no such environment: use one of %s", env, strings.Join(cfg.EnvironmentNames(), ", "))
	}
	up, err := backendUpstream(cfg, opts.Upstream)
	if err != nil {
		return nil, err
	}
	if opts.Path != "" && !strings.HasPrefix(opts.Path, "/") {
		return nil, usageErrorf("--path %q must start with /: write it like /admin/users", opts.Path)
	}
	if opts.Leeway < 0 {
		return nil, usageErrorf("--leeway %s: use 0 or more", opts.Leeway)
	}
	issuer := strings.TrimRight(cmp.Or(opts.Issuer, stack.ProxyURL(cfg, cfg.Proxy.Listen)), "/")
	if u, err := url.Parse(issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("--issuer %q is not an http(s) URL: write it like https://127.0.0.1:8443", issuer)
	}
	t := &backendcheck.Target{URL: up.Targets[0], Method: strings.ToUpper(opts.Method), Path: cmp.Or(opts.Path, defaultProtectedPath(cfg)),
		Issuer: issuer, Audience: up.Name, OtherAudience: otherUpstream(cfg, up.Name), Leeway: opts.Leeway, Settle: genuineSettle,
		IdentityHeaders: identityHeaders(cfg), Now: opts.Now, Client: &http.Client{Timeout: 15 * time.Second}}
	for _, id := range cfg.PersonaIDs() {
		p, _ := cfg.IdentityIn(id, env)
		t.Personas = append(t.Personas, backendcheck.Persona{ID: id, Email: p.Email, Name: p.Name, Env: env,
			Groups: p.Groups, Roles: e.RolesFor(p.Groups)})
	}
	if len(t.Personas) == 0 {
		return nil, usageErrorf("no personas to make a genuine assertion for: add personas to %s", cfg.Source)
	}
	return t, nil
}

func backendUpstream(cfg *config.Config, flag string) (devproxy.Upstream, error) {
	if flag != "" {
		u, err := stack.ParseUpstreamFlag(flag)
		if err != nil {
			return u, &UsageError{Err: err}
		}
		return u, nil
	}
	for _, u := range cfg.Proxy.Upstreams {
		if len(u.Targets) > 0 {
			return devproxy.Upstream{Name: u.Name, Targets: u.Targets}, nil
		}
	}
	return devproxy.Upstream{}, usageErrorf("no backend to verify: pass --upstream http://127.0.0.1:8000, or add proxy.upstreams to %s", cfg.Source)
}

// defaultProtectedPath is the path of the first GET check: a route the
// team cares about; "" when there is none.
func defaultProtectedPath(cfg *config.Config) string {
	for _, ch := range cfg.Checks {
		if m, p, err := config.ParseRequest(ch.Request); err == nil && m == http.MethodGet {
			return p
		}
	}
	return ""
}

// openAPIProtectedPath is the first GET route of the backend's OpenAPI
// document (parameters filled from its examples) that the backend refuses
// a request without identity to: a protected route. "/" without one.
func openAPIProtectedPath(ctx context.Context, backend string) string {
	client := &http.Client{Timeout: 15 * time.Second}
	base := strings.TrimRight(backend, "/")
	routes, err := openapi.Load(ctx, base+openAPIPath, client)
	if err != nil {
		return "/"
	}
	for _, r := range routes {
		if r.Method != http.MethodGet || len(r.Placeholders()) > 0 {
			continue
		}
		path := r.Fill(nil)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			continue
		}
		resp, err := client.Do(req)
		if err != nil {
			return "/"
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return path
		}
	}
	return "/"
}

func otherUpstream(cfg *config.Config, name string) string {
	for _, u := range cfg.Proxy.Upstreams {
		if u.Name != name {
			return u.Name
		}
	}
	return name + "-other"
}

// identityHeaders are the headers the proxy's rewrites add for a persona:
// the user name, groups and roles expressions of proxy.headers.
func identityHeaders(cfg *config.Config) func(backendcheck.Persona) http.Header {
	return func(p backendcheck.Persona) http.Header {
		h := http.Header{}
		for _, hd := range cfg.Proxy.Headers {
			expr := strings.ToUpper(hd.Expr.Text)
			switch {
			case strings.Contains(expr, "AAA.USER.NAME"):
				h.Set(hd.Name, p.Email)
			case strings.Contains(expr, "AAA.USER.GROUPS"):
				h.Set(hd.Name, strings.Join(p.Groups, ","))
			case strings.Contains(expr, `"ROLES"`):
				h.Set(hd.Name, strings.Join(p.Roles, ","))
			}
		}
		return h
	}
}

// publishAssertionKey makes sure the proxy's keys answer at the issuer, as
// the backend will fetch them, and sets t.KeyID to the kid they give the
// state store's key: a running proxy's, or one started for the run. The
// returned stop ends what it started.
func publishAssertionKey(ctx context.Context, opts *VerifyBackendOptions, cfg *config.Config, store state.Store, t *backendcheck.Target) (func(), error) {
	var roots *x509.CertPool
	if ca, err := pki.Load(store); err == nil {
		roots = ca.Pool()
	}
	kid, err := publishedKID(ctx, t.Issuer, roots, &t.Key.PublicKey)
	if err == nil {
		t.KeyID = kid
		return func() {}, nil
	}
	var unreachable *net.OpError
	if !errors.As(err, &unreachable) {
		return nil, err
	}
	s, err := startKeyProxy(cfg, store, t, opts.Now)
	if err != nil {
		return nil, err
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(sctx)
	}
	if ca := s.CA(); ca != nil {
		roots = ca.Pool()
	}
	if t.KeyID, err = publishedKID(ctx, t.Issuer, roots, &t.Key.PublicKey); err != nil {
		stop()
		return nil, err
	}
	fmt.Fprintf(opts.IO.ErrOut, "authdev verify-backend: no proxy answered at %s: started one there for the run\n", t.Issuer)
	return stop, nil
}

// startKeyProxy starts the stack's proxy at the issuer's address, in front
// of the backend, so that the backend finds the keys where it looks.
func startKeyProxy(cfg *config.Config, store state.Store, t *backendcheck.Target, now func() time.Time) (*stack.Stack, error) {
	u, _ := url.Parse(t.Issuer)
	listen := u.Host
	if u.Port() == "" {
		listen = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	s, err := stack.Up(stack.Options{Config: cfg, Store: store, Upstream: t.Audience + "=" + t.URL,
		ProxyListen: listen, IdPListen: "127.0.0.1:0", Now: now})
	if err != nil {
		return nil, fmt.Errorf("starting a proxy at %s to publish its keys: %w", t.Issuer, err)
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// publishedKID fetches the JWKS at issuer and returns the kid of pub in it.
// A connection error is returned as it is (a *net.OpError).
func publishedKID(ctx context.Context, issuer string, roots *x509.CertPool, pub *ecdsa.PublicKey) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+identity.JWKSPath, nil)
	if err != nil {
		return "", err
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &set) != nil {
		return "", fmt.Errorf("%s%s answered %s, not a key set: is --issuer an authdev proxy?", issuer, identity.JWKSPath, resp.Status)
	}
	for _, k := range set.Keys {
		if p, ok := k.Key.(*ecdsa.PublicKey); ok && p.Equal(pub) {
			return k.KeyID, nil
		}
	}
	return "", fmt.Errorf("the proxy at %s publishes other keys than the state store holds: run verify-backend with the --state of `authdev up`", issuer)
}
