package cli

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/openapi"
	"github.com/authdev/authdev/internal/rbactest"
	"github.com/authdev/authdev/internal/stack"
)

// tuiDrillDuration is how long the TUI's drills that take a duration last.
const tuiDrillDuration = 30 * time.Second

// Drill runs a failure drill for the TUI's drill key.
func (s tuiStack) Drill(name string) (string, error) {
	req := stack.DrillRequest{Drill: stack.Drill(name)}
	if name == string(stack.DrillIdPDown) || name == string(stack.DrillJWKSDown) {
		req.Duration = tuiDrillDuration.String()
	}
	st, err := s.RunDrill(req)
	return st.Done, err
}

// coverageLine is the route coverage of the config's checks, measured once
// in the background from the first upstream's OpenAPI document: the TUI's
// header shows it when there is one.
type coverageLine struct {
	once sync.Once
	mu   sync.Mutex
	line string
}

func (c *coverageLine) get(s *stack.Stack) string {
	c.once.Do(func() { go c.measure(s) })
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.line
}

func (c *coverageLine) measure(s *stack.Stack) {
	cfg := s.Config()
	ups := s.DevProxy().Upstreams()
	if len(ups) == 0 || len(ups[0].Targets) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	src := strings.TrimRight(ups[0].Targets[0].URL, "/") + openAPIPath
	routes, err := openapi.Load(ctx, src, &http.Client{Timeout: 10 * time.Second})
	cases, perr := rbactest.Plan(cfg, nil)
	if err != nil || perr != nil {
		return
	}
	cov := rbactest.NewCoverage(src, routes, cases, cfg.EnvironmentNames(), cfg.ChecksCoverage == config.CoverageRequired)
	c.mu.Lock()
	c.line = cov.Line()
	c.mu.Unlock()
}
