package rbactest

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/authdev/authdev/internal/junit"
	"github.com/authdev/authdev/internal/openapi"
)

// Coverage is which routes of the backend's OpenAPI document the checks
// cover, in each environment that ran.
type Coverage struct {
	// Source is where the document came from (URL or file).
	Source string `json:"source"`
	// Required makes an uncovered route a failure (checks_coverage:
	// required, --require-coverage).
	Required bool            `json:"required"`
	Routes   []openapi.Route `json:"routes"`
	Envs     []EnvCoverage   `json:"environments"`
}

// EnvCoverage is the coverage of one environment.
type EnvCoverage struct {
	Env       string          `json:"env"`
	Covered   int             `json:"covered"`
	Uncovered []openapi.Route `json:"uncovered"`
	// By names, per covered route, the first check that covers it.
	By map[string]string `json:"covered_by"`
}

// NewCoverage measures which of routes the cases cover in each of envs: a
// route is covered in an environment when a check that runs there sends
// a request it matches.
func NewCoverage(source string, routes []openapi.Route, cases []Case, envs []string, required bool) *Coverage {
	c := &Coverage{Source: source, Required: required, Routes: routes}
	for _, env := range envs {
		ec := EnvCoverage{Env: env, Uncovered: []openapi.Route{}, By: map[string]string{}}
		for _, r := range routes {
			by := ""
			for _, cs := range cases {
				if cs.Env == env && r.Covers(cs.Method, cs.Path) {
					by = cs.Check.Name
					break
				}
			}
			if by == "" {
				ec.Uncovered = append(ec.Uncovered, r)
				continue
			}
			ec.Covered++
			ec.By[r.String()] = by
		}
		c.Envs = append(c.Envs, ec)
	}
	return c
}

// OK reports whether coverage lets the run pass: always, unless it is
// required and a route is uncovered. A nil Coverage is OK.
func (c *Coverage) OK() bool {
	if c == nil || !c.Required {
		return true
	}
	return c.uncovered() == 0
}

func (c *Coverage) uncovered() int {
	n := 0
	for _, e := range c.Envs {
		n += len(e.Uncovered)
	}
	return n
}

// Line sums the coverage up in one line, for the text report and the TUI.
func (c *Coverage) Line() string {
	parts := make([]string, len(c.Envs))
	for i, e := range c.Envs {
		parts[i] = fmt.Sprintf("%d/%d %s", e.Covered, len(c.Routes), e.Env)
	}
	verdict := "coverage"
	if !c.OK() {
		verdict = "coverage FAILED"
	}
	return fmt.Sprintf("%s: routes covered by checks %s (%s)", verdict, strings.Join(parts, ", "), c.Source)
}

// writeText lists the uncovered routes per environment and the line.
func (c *Coverage) writeText(w io.Writer) error {
	if c.uncovered() > 0 {
		fmt.Fprintln(w, "\nRoutes no check covers (add checks, or run authdev test --scaffold):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  ENV\tROUTE")
		for _, e := range c.Envs {
			for _, r := range e.Uncovered {
				fmt.Fprintf(tw, "  %s\t%s\n", e.Env, r)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, "\n"+c.Line())
	return err
}

// junitSuites are one suite per environment, a case per route: covered
// routes pass; uncovered ones fail when coverage is required and are
// skipped otherwise.
func (c *Coverage) junitSuites() []junit.Suite {
	var out []junit.Suite
	for _, e := range c.Envs {
		s := junit.Suite{Name: "authdev coverage " + e.Env, Time: junit.Seconds(0)}
		for _, r := range c.Routes {
			tc := junit.Case{Name: r.String(), ClassName: "authdev.coverage." + e.Env, Time: junit.Seconds(0)}
			if by, ok := e.By[r.String()]; ok {
				tc.SystemOut = "covered by check " + by
			} else if c.Required {
				tc.Failure = &junit.Problem{Message: "no check covers " + r.String() + " in " + e.Env, Type: "uncovered",
					Text: "add a check for it under checks:, or run authdev test --scaffold"}
			} else {
				tc.Skipped = &junit.Problem{Message: "no check covers " + r.String() + " in " + e.Env}
			}
			s.Add(tc)
		}
		out = append(out, s)
	}
	return out
}
