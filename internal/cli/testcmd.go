package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/rbactest"
	"github.com/authdev/authdev/internal/stack"
	"github.com/authdev/authdev/internal/state"
	"github.com/authdev/authdev/mockidp"
)

// recordInPlace is --record without a file: rewrite the config itself.
const recordInPlace = "(config)"

// TestOptions are the inputs of `authdev test`.
type TestOptions struct {
	Deps
	ConfigFile func() string

	Envs        []string
	Proxy       string
	Upstream    string
	ProxyListen string
	ReportFlags
	Record   string
	Parallel int

	OpenAPI         string
	RequireCoverage bool
	Scaffold        bool
}

// NewCmdTest builds `authdev test`.
func NewCmdTest(f *Factory, runF func(context.Context, *TestOptions) error) *cobra.Command {
	opts := &TestOptions{Deps: f.deps(), ConfigFile: f.ConfigFile}
	cmd := longRunning(&cobra.Command{
		Use:   "test",
		Short: "Run the RBAC checks of authdev.yaml through the proxy, in every environment",
		Long: `Run the checks of authdev.yaml through the ADC-emulating proxy exactly as a
client would: as a browser session that picks the persona at the IdP (default),
or with a bearer token from the IdP (via: bearer). Every check runs in every
environment it names (all by default); the checks of one environment run in
parallel.

Without --proxy, authdev test starts the IdP and the proxy in-process, in
front of proxy.upstreams (or --upstream, or the embedded demo backend when
there is neither), and stops them at the end: one command in CI. The IdP
takes a free port. The proxy listens on proxy.listen when it fronts a
backend and that address is free, because backends check that the identity
assertion comes from that URL; when an ` + "`authdev up`" + ` holds it, and with the
demo backend, it takes a free port, still signing assertions as
proxy.listen's URL. --proxy-listen ADDR puts it elsewhere. Nothing is
written to the state store: keys and the CA are read from it when they
exist and made in memory otherwise.

With --proxy URL it drives a running ` + "`authdev up`" + ` instead, switching its
environment through the control endpoint (same --state), and restores the
active persona and environment at the end; without --env, the checks run
in its active environment.

Output: a table (check × environment), the outcomes side by side with the
checks that differ between environments marked, and a summary line.
Expectations: a status code, allow (the upstream answered 2xx/3xx) or deny
(401/403 from the proxy or the backend). Exit 0 when every expectation
holds, 1 when any fails, 2 for bad config or usage.

Route coverage: the backend's OpenAPI document (<upstream>/openapi.json,
which FastAPI serves, or --openapi URL|FILE; OpenAPI 3.0 or 3.1, JSON or
YAML) names its routes; after the results, authdev test lists per
environment each method × path template no check covers (GET /reports/q3
covers GET /reports/{name}). --require-coverage (or checks_coverage:
required) makes an uncovered route fail the run. --scaffold adds a check
per uncovered route and persona to the config file, with today's outcomes
as expectations and path parameters from the document's examples (or an
EDIT- placeholder).

--record writes the observed outcomes as the checks' expectations: into the
config file itself (only the expect: values change; comments and layout
stay), or into FILE with
--record=FILE (the whole config, updated). Review the diff: it is a
baseline, not a verdict.`,
		Example: `  authdev test
  authdev test --env prod --upstream http://127.0.0.1:8000 --junit rbac.xml
  authdev test --proxy https://127.0.0.1:8443
  authdev test --record=authdev.baseline.yaml
  authdev test --require-coverage --openapi api/openapi.yaml`,
	}, opts, runF, testRun)
	fl := cmd.Flags()
	fl.StringSliceVar(&opts.Envs, "env", nil, "run only in these environments (repeat or comma-separate; default every environment)")
	fl.StringVar(&opts.Proxy, "proxy", "", "test through this running authdev proxy instead of starting one")
	fl.StringVar(&opts.Upstream, "upstream", "", "backend to test instead of proxy.upstreams: URL (upstream \"app\") or NAME=URL")
	fl.StringVar(&opts.ProxyListen, "proxy-listen", "", "address of the in-process proxy (default proxy.listen with a backend when free, else a free port)")
	opts.ReportFlags.bind(cmd)
	fl.StringVar(&opts.Record, "record", "", "write the observed outcomes as expectations: into the config, or into `FILE` with --record=FILE")
	fl.Lookup("record").NoOptDefVal = recordInPlace
	fl.IntVar(&opts.Parallel, "parallel", 16, "checks run at once")
	fl.StringVar(&opts.OpenAPI, "openapi", "", "the backend's OpenAPI document, `URL|FILE` (default <upstream>/openapi.json): list the routes no check covers")
	fl.BoolVar(&opts.RequireCoverage, "require-coverage", false, "fail when a route of the OpenAPI document has no check (as checks_coverage: required)")
	fl.BoolVar(&opts.Scaffold, "scaffold", false, "add checks for the uncovered routes × personas to the config, with today's outcomes as expectations")
	return cmd
}

func testRun(ctx context.Context, opts *TestOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	if err := checkTestFlags(opts); err != nil {
		return err
	}
	recordTo, err := recordDestination(opts, cfg)
	if err != nil {
		return err
	}
	if opts.Scaffold && (opts.Record != "" || cfg.IsDemo()) {
		return usageErrorf("--scaffold writes into the config file: run it without --record, with a config of your own (authdev init)")
	}
	store, err := testStore(opts, cfg)
	if err != nil {
		return err
	}
	remote, cases, err := planCases(ctx, opts, cfg, store)
	if err != nil {
		return err
	}
	coverage, err := testCoverage(ctx, opts, cfg, cases)
	if err != nil {
		return err
	}
	target, cleanup, err := testTarget(opts, cfg, store, remote, len(cases))
	if err != nil {
		return err
	}
	start := opts.Now()
	results := rbactest.Run(ctx, target, cases, rbactest.Options{Parallel: opts.Parallel, Now: opts.Now})
	report := rbactest.NewReport(cfg.EnvironmentNames(), results, opts.Now().Sub(start))
	report.Coverage = coverage
	var scaffold scaffolded
	if opts.Scaffold && coverage != nil {
		scaffold = runScaffold(ctx, opts, cfg, target, coverage)
	}
	if err := cleanup(); err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "authdev test: stopping: %v\n", err)
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	if err := writeReport(opts.IO, "authdev test", report, opts.ReportFlags); err != nil {
		return err
	}
	if recordTo != "" {
		return recordRun(opts, cfg, report, recordTo)
	}
	if len(scaffold.cases) > 0 {
		if err := writeScaffold(opts, cfg, scaffold); err != nil {
			return err
		}
	}
	if !report.OK() {
		return &SilentError{Code: ExitFailure}
	}
	return nil
}

// testStore is the run's state store. Its own secrets stay in memory: a CI
// job leaves no keys behind and does not disturb an `authdev up` sharing
// the store. The one exception, in front of a backend, is the proxy's
// assertion key, kept once made: backends cache the proxy's JWKS by URL,
// and a key made afresh by each run would be unknown to them on the next.
func testStore(opts *TestOptions, cfg *config.Config) (state.Store, error) {
	userStore, err := opts.State()
	if err != nil {
		return nil, err
	}
	store := &overlayStore{base: userStore, mem: state.NewMemory()}
	if frontsBackend(opts, cfg) {
		store.keep = stack.AssertionKeyKey
	}
	return store, nil
}

// planCases lists the run's cases and, with --proxy, reaches the running
// proxy first, so that a wrong URL is said once, up front (and the
// environments default to its active one).
func planCases(ctx context.Context, opts *TestOptions, cfg *config.Config, store state.Store) (*rbactest.Remote, []rbactest.Case, error) {
	var remote *rbactest.Remote
	envs := opts.Envs
	if opts.Proxy != "" {
		var err error
		if remote, envs, err = connectRemote(ctx, opts, cfg, store); err != nil {
			return nil, nil, err
		}
	}
	cases, err := rbactest.Plan(cfg, envs)
	if err != nil {
		var ce config.Errors
		if errors.As(err, &ce) {
			return nil, nil, err
		}
		return nil, nil, &UsageError{Err: err}
	}
	if len(cases) == 0 {
		return nil, nil, usageErrorf("no checks to run in %s: add some under checks: in %s", envList(cfg, envs), cmp.Or(opts.ConfigFile(), config.EmbeddedDemoName))
	}
	return remote, cases, nil
}

func checkTestFlags(opts *TestOptions) error {
	if opts.Parallel < 1 {
		return usageErrorf("--parallel %d: use 1 or more", opts.Parallel)
	}
	if opts.Proxy != "" && (opts.Upstream != "" || opts.ProxyListen != "") {
		return usageErrorf("--proxy tests a running proxy: --upstream and --proxy-listen apply only to the proxy authdev test starts")
	}
	if opts.Upstream != "" {
		if _, err := stack.ParseUpstreamFlag(opts.Upstream); err != nil {
			return &UsageError{Err: err}
		}
	}
	if opts.ProxyListen != "" {
		if _, err := checkListen("--proxy-listen", opts.ProxyListen, false); err != nil {
			return err
		}
	}
	return nil
}

// recordDestination is where --record writes, "" without it.
func recordDestination(opts *TestOptions, cfg *config.Config) (string, error) {
	switch {
	case opts.Record == recordInPlace && cfg.IsDemo():
		return "", usageErrorf("--record: the built-in demo has no file to write: pass --record=FILE, or run `authdev init` first")
	case opts.Record == recordInPlace:
		return cfg.Source, nil
	}
	return opts.Record, nil
}

// connectRemote reaches the proxy of --proxy and, without --env, runs the
// checks in its active environment only: the one the developer is in.
func connectRemote(ctx context.Context, opts *TestOptions, cfg *config.Config, store state.Store) (*rbactest.Remote, []string, error) {
	remote, err := newRemoteTarget(opts.Proxy, cfg, store)
	if err != nil {
		return nil, nil, err
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	active, err := remote.Active(actx)
	if err != nil {
		return nil, nil, err
	}
	if len(opts.Envs) > 0 {
		return remote, opts.Envs, nil
	}
	if _, ok := cfg.Environment(active.Env); !ok {
		return nil, nil, fmt.Errorf("--proxy %s is in environment %q, which %s does not have: pass the --config it runs with, or --env", opts.Proxy, active.Env, cfg.Source)
	}
	fmt.Fprintf(opts.IO.ErrOut, "authdev test: in %s, the active environment of %s (--env picks others)\n", active.Env, opts.Proxy)
	return remote, []string{active.Env}, nil
}

// testTarget is the proxy the checks go through: the running one of
// --proxy, or one started in this process.
func testTarget(opts *TestOptions, cfg *config.Config, store state.Store, remote *rbactest.Remote, checks int) (rbactest.Target, func() error, error) {
	if remote != nil {
		fmt.Fprintf(opts.IO.ErrOut, "authdev test: %d checks through %s\n", checks, opts.Proxy)
		return remote, func() error {
			rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return remote.Restore(rctx)
		}, nil
	}
	ip, err := startInProcess(opts, cfg, store)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(opts.IO.ErrOut, "authdev test: %d checks through an in-process proxy at %s (%s)\n",
		checks, ip.URL(), strings.Join(ip.Upstreams(), "; "))
	return ip, ip.Close, nil
}

// startInProcess starts the run's IdP (on a free port) and proxy. The proxy
// listens on --proxy-listen; or, in front of a backend, on proxy.listen,
// whose URL backends check as the identity assertion's issuer; or, when an
// `authdev up` holds proxy.listen (or there is only the demo backend), on a
// free port, signing assertions as proxy.listen's URL with the key of the
// state store that up shares, so that the backend still accepts them.
func startInProcess(opts *TestOptions, cfg *config.Config, store state.Store) (*rbactest.InProcess, error) {
	o := rbactest.InProcessOptions{Config: cfg, Store: store, Upstream: opts.Upstream, ProxyListen: opts.ProxyListen, Now: opts.Now}
	if o.ProxyListen != "" || !frontsBackend(opts, cfg) {
		return rbactest.StartInProcess(o)
	}
	o.ProxyListen = cfg.Proxy.Listen
	ip, err := rbactest.StartInProcess(o)
	if !errors.Is(err, syscall.EADDRINUSE) {
		return ip, err
	}
	o.ProxyListen, o.AssertionIssuer = "127.0.0.1:0", stack.ProxyURL(cfg, cfg.Proxy.Listen)
	fmt.Fprintf(opts.IO.ErrOut, "authdev test: %s is taken (by authdev up?): the proxy takes a free port and signs assertions as %s\n",
		cfg.Proxy.Listen, o.AssertionIssuer)
	return rbactest.StartInProcess(o)
}

// frontsBackend reports whether the run's proxy forwards to the user's
// backend rather than to the embedded demo.
func frontsBackend(opts *TestOptions, cfg *config.Config) bool {
	return opts.Upstream != "" || len(cfg.Proxy.Upstreams) > 0 || cfg.Proxy.ADCConfig != ""
}

// recordRun writes the outcomes as expectations into recordTo.
func recordRun(opts *TestOptions, cfg *config.Config, report rbactest.Report, recordTo string) error {
	src := config.DemoYAML()
	if !cfg.IsDemo() {
		var err error
		if src, err = os.ReadFile(cfg.Source); err != nil {
			return fmt.Errorf("--record: reading %s: %w", cfg.Source, err)
		}
	}
	recs := rbactest.Expectations(report.Results)
	out, err := rbactest.Record(src, recs, report.Envs)
	if err != nil {
		return fmt.Errorf("--record: %w", err)
	}
	if err := writeFileAtomic(recordTo, out); err != nil {
		return fmt.Errorf("--record: %w", err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "authdev test: recorded %d expectations in %s: review the diff before committing\n", len(recs), recordTo)
	if s := report.Summary(); s.Errors > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "authdev test: %d checks could not run; their expectations are unchanged\n", s.Errors)
		return &SilentError{Code: ExitFailure}
	}
	return nil
}

func envList(cfg *config.Config, envs []string) string {
	if len(envs) == 0 {
		envs = cfg.EnvironmentNames()
	}
	return strings.Join(envs, ", ")
}

// writeFileAtomic replaces path in one step, keeping its mode.
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// newRemoteTarget prepares to drive a running authdev proxy: the control
// token and the CA come from the state store it shares with this process.
func newRemoteTarget(proxyURL string, cfg *config.Config, store state.Store) (*rbactest.Remote, error) {
	token, roots, err := stack.ControlCredentials(store)
	if err != nil {
		return nil, fmt.Errorf("--proxy: %w", err)
	}
	base, err := stack.IdPBaseURL(cfg)
	if err != nil {
		return nil, err
	}
	return rbactest.NewRemote(proxyURL, token, roots, func(env string) string { return mockidp.IssuerOf(base, cfg, env) }), nil
}

// overlayStore reads through to the user's store and keeps writes in
// memory, but for the key named keep.
type overlayStore struct {
	base state.Store
	mem  *state.MemoryStore
	keep string
}

func (o *overlayStore) Get(key string) ([]byte, error) {
	if v, err := o.mem.Get(key); err == nil {
		return v, nil
	}
	return o.base.Get(key)
}

func (o *overlayStore) Set(key string, value []byte) error {
	if key == o.keep {
		return o.base.Set(key, value)
	}
	return o.mem.Set(key, value)
}

func (o *overlayStore) Delete(key string) error { return o.mem.Delete(key) }
func (o *overlayStore) Describe() string        { return "memory over " + o.base.Describe() }
