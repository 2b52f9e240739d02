package rbactest

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/junit"
)

// Report is a run's results with what the outputs need around them.
type Report struct {
	// Envs are the environments that ran, in the config's order.
	Envs     []string
	Results  []Result
	Duration time.Duration
	// Coverage is nil when no OpenAPI document was read.
	Coverage *Coverage
}

// NewReport orders envs as allEnvs lists them, keeping those that ran.
func NewReport(allEnvs []string, results []Result, d time.Duration) Report {
	ran := map[string]bool{}
	for _, r := range results {
		ran[r.Env] = true
	}
	var envs []string
	for _, e := range allEnvs {
		if ran[e] {
			envs = append(envs, e)
		}
	}
	return Report{Envs: envs, Results: results, Duration: d}
}

// Summary counts the results.
type Summary struct {
	Checks   int     `json:"checks"`
	Envs     int     `json:"environments"`
	Run      int     `json:"run"`
	Passed   int     `json:"passed"`
	Failed   int     `json:"failed"`
	Errors   int     `json:"errors"`
	Differ   int     `json:"differ_between_environments"`
	Duration float64 `json:"duration_seconds"`
}

// Summary counts passes, failures (wrong outcome) and errors (could not
// run).
func (r Report) Summary() Summary {
	s := Summary{Envs: len(r.Envs), Run: len(r.Results), Duration: r.Duration.Seconds()}
	checks := map[int]bool{}
	for _, res := range r.Results {
		checks[res.Index] = true
		switch {
		case res.Pass:
			s.Passed++
		case res.Outcome == OutcomeError:
			s.Errors++
		default:
			s.Failed++
		}
	}
	s.Checks = len(checks)
	for _, row := range r.matrix() {
		if row.differs {
			s.Differ++
		}
	}
	return s
}

// OK reports whether every expectation held.
func (r Report) OK() bool {
	s := r.Summary()
	return s.Failed == 0 && s.Errors == 0 && r.Coverage.OK()
}

type matrixRow struct {
	name     string
	outcomes map[string]string // env -> outcome
	differs  bool
}

// matrix is one row per check: its outcome in every environment it ran in.
func (r Report) matrix() []matrixRow {
	var rows []matrixRow
	at := map[int]int{}
	for _, res := range r.Results {
		i, ok := at[res.Index]
		if !ok {
			i = len(rows)
			at[res.Index] = i
			rows = append(rows, matrixRow{name: res.Name + via(res), outcomes: map[string]string{}})
		}
		rows[i].outcomes[res.Env] = res.Outcome
	}
	for i := range rows {
		seen := map[string]bool{}
		for _, o := range rows[i].outcomes {
			seen[o] = true
		}
		rows[i].differs = len(seen) > 1
	}
	return rows
}

// WriteText writes the table (check × environment), the matrix of outcomes
// with the checks that differ between environments marked, and the summary
// line.
func (r Report) WriteText(w io.Writer) error {
	// A column for what the backend said appears when a mismatch has an
	// answer: the reason a check failed, without the trailing blanks an
	// always-empty column would leave.
	answers := slices.ContainsFunc(r.Results, func(res Result) bool { return !res.Pass && res.Answer != "" })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "CHECK\tENV\t\tEXPECT\tGOT\tSTATUS\tDECIDED BY"
	if answers {
		header += "\tBACKEND SAID"
	}
	fmt.Fprintln(tw, header)
	for _, res := range r.Results {
		mark := "✓"
		if !res.Pass {
			mark = "✗"
		}
		status := "-"
		if res.Status != 0 {
			status = strconv.Itoa(res.Status)
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", res.Name+via(res), res.Env, mark, res.Expect, res.Outcome, status, decidedBy(res))
		if answers && !res.Pass {
			row += "\t" + res.Answer
		}
		fmt.Fprintln(tw, row)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var failed []Result
	for _, res := range r.Results {
		if !res.Pass {
			failed = append(failed, res)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintln(w, "\nFailures:")
		for _, res := range failed {
			where := ""
			if res.Pos.Line > 0 {
				where = fmt.Sprintf("%s:%d: ", res.Pos.File, res.Pos.Line)
			}
			fmt.Fprintf(w, "  ✗ %s%s in %s: %s\n", where, res.Name+via(res), res.Env, res.Reason)
		}
	}
	if len(r.Envs) > 1 {
		fmt.Fprintln(w, "\nOutcome by environment (! marks a check whose outcome differs):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "\tCHECK\t%s\n", strings.Join(upper(r.Envs), "\t"))
		for _, row := range r.matrix() {
			mark := " "
			if row.differs {
				mark = "!"
			}
			cells := make([]string, len(r.Envs))
			for i, e := range r.Envs {
				cells[i] = row.outcomes[e]
				if cells[i] == "" {
					cells[i] = "·"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, row.name, strings.Join(cells, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if r.Coverage != nil {
		if err := r.Coverage.writeText(w); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, "\n"+r.SummaryLine())
	return err
}

// SummaryLine is the last line of the text report.
func (r Report) SummaryLine() string {
	s := r.Summary()
	verdict := "ok"
	if !r.OK() {
		verdict = "FAILED"
	}
	line := fmt.Sprintf("%s: %s × %s: %d run, %d passed, %d failed", verdict, plural(s.Checks, "check"), plural(s.Envs, "environment"), s.Run, s.Passed, s.Failed)
	if s.Errors > 0 {
		line += fmt.Sprintf(", %d could not run", s.Errors)
	}
	if s.Envs > 1 {
		line += fmt.Sprintf("; %d differ between environments", s.Differ)
	}
	return line + fmt.Sprintf(" (%s)", r.Duration.Round(time.Millisecond))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func via(res Result) string {
	if res.Via == "bearer" || res.Via == config.LoginSAML {
		return " (" + res.Via + ")"
	}
	return ""
}

func decidedBy(res Result) string {
	switch {
	case res.Policy != "":
		return "policy " + res.Policy
	case res.By != "":
		return res.By
	}
	return "-"
}

func upper(s []string) []string {
	out := slices.Clone(s)
	for i := range out {
		out[i] = strings.ToUpper(out[i])
	}
	return out
}

// JUnit XML, as CI systems read it: one suite per environment, one test
// case per check in it.
type (
	junitSuites  = junit.Suites
	junitSuite   = junit.Suite
	junitCase    = junit.Case
	junitProblem = junit.Problem
)

// sourceFile is the check's file, "" for the built-in demo.
func sourceFile(p config.Pos) string {
	if p.File == config.EmbeddedDemoName {
		return ""
	}
	return p.File
}

var seconds = junit.Seconds

// WriteJUnit writes the JUnit XML report.
func (r Report) WriteJUnit(w io.Writer) error {
	s := r.Summary()
	out := junitSuites{Name: "authdev test", Tests: s.Run, Failures: s.Failed, Errors: s.Errors, Time: seconds(r.Duration)}
	for _, env := range r.Envs {
		suite := junitSuite{Name: "authdev test " + env}
		var total time.Duration
		for _, res := range r.Results {
			if res.Env != env {
				continue
			}
			total += res.Duration
			tc := junitCase{Name: res.Name + via(res), ClassName: "authdev." + env, Time: seconds(res.Duration),
				File: sourceFile(res.Pos), Line: res.Pos.Line,
				SystemOut: fmt.Sprintf("as %s, %s via %s in %s: expect %s, got %s (status %d, decided by %s)",
					res.Persona, res.Request, res.Via, env, res.Expect, res.Outcome, res.Status, decidedBy(res))}
			switch {
			case res.Pass:
			case res.Outcome == OutcomeError:
				suite.Errors++
				tc.Error = &junitProblem{Message: res.Reason, Type: "error", Text: res.Reason}
			default:
				suite.Failures++
				msg := fmt.Sprintf("expected %s, got %s", res.Expect, res.Outcome)
				if res.Status != 0 && res.Outcome != strconv.Itoa(res.Status) {
					msg += fmt.Sprintf(" (%d)", res.Status)
				}
				if res.Answer != "" {
					msg += ": " + res.Answer
				}
				tc.Failure = &junitProblem{Message: msg, Type: "mismatch", Text: res.Reason}
			}
			suite.Tests++
			suite.Cases = append(suite.Cases, tc)
		}
		suite.Time = seconds(total)
		out.Suites = append(out.Suites, suite)
	}
	if r.Coverage != nil {
		out.Suites = append(out.Suites, r.Coverage.junitSuites()...)
	}
	return junit.Write(w, out)
}

// WriteJSON writes the summary and every result as one JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	type matrixJSON struct {
		Check    string            `json:"check"`
		Outcomes map[string]string `json:"outcomes"`
		Differs  bool              `json:"differs"`
	}
	doc := struct {
		OK       bool         `json:"ok"`
		Summary  Summary      `json:"summary"`
		Envs     []string     `json:"environments"`
		Results  []Result     `json:"results"`
		Matrix   []matrixJSON `json:"matrix"`
		Coverage *Coverage    `json:"coverage,omitempty"`
	}{OK: r.OK(), Summary: r.Summary(), Envs: r.Envs, Results: r.Results, Coverage: r.Coverage}
	if doc.Results == nil {
		doc.Results = []Result{}
	}
	for _, row := range r.matrix() {
		doc.Matrix = append(doc.Matrix, matrixJSON{Check: row.name, Outcomes: row.outcomes, Differs: row.differs})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
