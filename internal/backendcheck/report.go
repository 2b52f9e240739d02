package backendcheck

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/authdev/authdev/internal/junit"
)

// Report is a run's results with what they were run against.
type Report struct {
	Backend  string        `json:"backend"`
	Request  string        `json:"request"`
	Issuer   string        `json:"issuer"`
	Audience string        `json:"audience"`
	Results  []Result      `json:"results"`
	Duration time.Duration `json:"duration_ns"`
}

// OK reports whether no case failed or erred.
func (r Report) OK() bool {
	for _, res := range r.Results {
		if res.Verdict == Fail || res.Verdict == Error {
			return false
		}
	}
	return true
}

func (r Report) count(v Verdict) int {
	n := 0
	for _, res := range r.Results {
		if res.Verdict == v {
			n++
		}
	}
	return n
}

// WriteText writes the table (case, expected, got, verdict), a fix per
// failed case, and the summary line.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tEXPECTED\tGOT\tVERDICT")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", res.Case, res.Expected, res.Got, res.Verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var hinted bool
	for _, res := range r.Results {
		if res.Hint == "" {
			continue
		}
		if !hinted {
			fmt.Fprintln(w, "\nTo fix:")
			hinted = true
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark(res.Verdict), res.Case, res.Hint)
	}
	_, err := fmt.Fprintln(w, "\n"+r.SummaryLine())
	return err
}

func mark(v Verdict) string {
	if v == Inconclusive {
		return "?"
	}
	return "✗"
}

// SummaryLine is the last line of the text report.
func (r Report) SummaryLine() string {
	verdict := "ok"
	if !r.OK() {
		verdict = "FAILED"
	}
	line := fmt.Sprintf("%s: %s sent straight to %s: %d cases, %d passed, %d failed", verdict, r.Request, r.Backend,
		len(r.Results), r.count(Pass), r.count(Fail))
	if n := r.count(Error); n > 0 {
		line += fmt.Sprintf(", %d could not run", n)
	}
	if n := r.count(Inconclusive); n > 0 {
		line += fmt.Sprintf(", %d inconclusive", n)
	}
	return line + fmt.Sprintf(" (%s)", r.Duration.Round(time.Millisecond))
}

// WriteJSON writes the report as one JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	doc := struct {
		OK bool `json:"ok"`
		Report
	}{r.OK(), r}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// WriteJUnit writes one suite with a test case per case: a failure for an
// accepted forgery, an error for a case that could not run.
func (r Report) WriteJUnit(w io.Writer) error {
	suite := junit.Suite{Name: "authdev verify-backend " + r.Backend, Time: junit.Seconds(r.Duration)}
	for _, res := range r.Results {
		c := junit.Case{Name: res.Case, ClassName: "authdev.verify-backend", Time: junit.Seconds(res.Duration),
			SystemOut: fmt.Sprintf("%s at %s with %s: expected %s, got %s", r.Request, r.Backend, res.Forges, res.Expected, res.Got)}
		switch res.Verdict {
		case Fail:
			c.Failure = &junit.Problem{Message: res.Hint, Type: "mismatch", Text: fmt.Sprintf("expected %s, got %s", res.Expected, res.Got)}
		case Error:
			c.Error = &junit.Problem{Message: res.Got, Type: "error", Text: res.Hint}
		}
		suite.Add(c)
	}
	return junit.Write(w, junit.Suites{Name: "authdev verify-backend", Time: junit.Seconds(r.Duration), Suites: []junit.Suite{suite}})
}
