package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/openapi"
	"github.com/authdev/authdev/internal/rbactest"
	"github.com/authdev/authdev/internal/stack"
)

// openAPIPath is where FastAPI serves its document, and the default place
// to look on any backend.
const openAPIPath = "/openapi.json"

// testCoverage reads the backend's OpenAPI document and measures which of
// its routes the cases cover. It returns nil, after a note on stderr, when
// the default document is not there and coverage is neither required nor
// scaffolded.
func testCoverage(ctx context.Context, opts *TestOptions, cfg *config.Config, cases []rbactest.Case) (*rbactest.Coverage, error) {
	required := opts.RequireCoverage || cfg.ChecksCoverage == config.CoverageRequired
	needed := required || opts.Scaffold
	src := opts.OpenAPI
	if src == "" {
		base := testBackendURL(opts, cfg)
		if base == "" {
			if needed {
				return nil, usageErrorf("%s needs the backend's OpenAPI document, and there is no backend to read it from: pass --openapi URL|FILE", coverageReason(opts, required))
			}
			return nil, nil
		}
		src = strings.TrimRight(base, "/") + openAPIPath
	}
	routes, err := openapi.Load(ctx, src, &http.Client{Timeout: 15 * time.Second})
	switch {
	case err == nil:
	case opts.OpenAPI == "" && !needed:
		fmt.Fprintf(opts.IO.ErrOut, "authdev test: no route coverage: %v: pass --openapi URL|FILE to read the document elsewhere\n", err)
		return nil, nil
	case errors.Is(err, openapi.ErrNoDocument), errors.Is(err, os.ErrNotExist):
		return nil, usageErrorf("--openapi: %v: pass --openapi URL|FILE", err)
	default:
		return nil, fmt.Errorf("--openapi: %w", err)
	}
	envs := opts.Envs
	if len(envs) == 0 {
		envs = cfg.EnvironmentNames()
	}
	return rbactest.NewCoverage(src, routes, cases, envs, required), nil
}

func coverageReason(opts *TestOptions, required bool) string {
	switch {
	case opts.Scaffold:
		return "--scaffold"
	case opts.RequireCoverage:
		return "--require-coverage"
	case required:
		return "checks_coverage: required"
	}
	return "coverage"
}

// testBackendURL is the backend the proxy of the run forwards to: the
// --upstream, or the first configured upstream's first target.
func testBackendURL(opts *TestOptions, cfg *config.Config) string {
	if opts.Upstream != "" {
		if u, err := stack.ParseUpstreamFlag(opts.Upstream); err == nil {
			return u.Targets[0]
		}
	}
	for _, u := range cfg.Proxy.Upstreams {
		if len(u.Targets) > 0 {
			return u.Targets[0]
		}
	}
	return ""
}

// scaffolded is what --scaffold ran: checks for the uncovered routes ×
// personas, with their results.
type scaffolded struct {
	cases   []rbactest.Case
	results []rbactest.Result
}

// runScaffold runs the checks --scaffold proposes through the target of
// the run, to record today's outcomes as their expectations.
func runScaffold(ctx context.Context, opts *TestOptions, cfg *config.Config, target rbactest.Target, cov *rbactest.Coverage) scaffolded {
	cases := rbactest.ScaffoldCases(cov, cfg.PersonaIDs(), len(cfg.Checks))
	if len(cases) == 0 {
		return scaffolded{}
	}
	fmt.Fprintf(opts.IO.ErrOut, "authdev test: --scaffold: %d requests for the uncovered routes × personas\n", len(cases))
	return scaffolded{cases: cases, results: rbactest.Run(ctx, target, cases, rbactest.Options{Parallel: opts.Parallel, Now: opts.Now})}
}

// writeScaffold appends the scaffolded checks to the config file.
func writeScaffold(opts *TestOptions, cfg *config.Config, s scaffolded) error {
	src, err := os.ReadFile(cfg.Source)
	if err != nil {
		return fmt.Errorf("--scaffold: reading %s: %w", cfg.Source, err)
	}
	out, n, err := rbactest.Scaffold(src, s.cases, s.results, cfg.EnvironmentNames())
	if err != nil {
		return fmt.Errorf("--scaffold: %w", err)
	}
	if n == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "authdev test: --scaffold: no check to add: every route is covered (or could not run)")
		return nil
	}
	if err := writeFileAtomic(cfg.Source, out); err != nil {
		return fmt.Errorf("--scaffold: %w", err)
	}
	broken := slices.ContainsFunc(s.results, func(r rbactest.Result) bool { return r.Outcome == rbactest.OutcomeError })
	fmt.Fprintf(opts.IO.ErrOut, "authdev test: --scaffold: added %d checks to %s with today's outcomes as expectations: review the diff before committing\n", n, cfg.Source)
	if broken {
		fmt.Fprintln(opts.IO.ErrOut, "authdev test: --scaffold: some requests could not run; their checks were left out")
	}
	return nil
}
