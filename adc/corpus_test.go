package adc

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/authdev/authdev/config"
)

// refusedByTheADC are the corpus files that hold a line the appliance
// itself refuses, and which line: every other file must load.
var refusedByTheADC = map[string]string{
	"authorization.ns.conf":       "`add authorization action` does not exist: an authorization policy ALLOWs or DENYs",
	"diagnosticsTriggers.ns.conf": "DROP is not a type of responder action",
	"noApps.ns.conf":              "a line of prose, not a command",
	"noAppsNoVersion.ns.conf":     "a line of prose, not a command",
	"oauthAuth.ns.conf":           "an OAuthAction without -clientID and endpoints",
	"productionWeb.ns.conf":       "DROP is not a type of responder action",
	"specialCharacters.ns.conf":   "functions NetScaler does not have (DECODE_USING, REPLACE_ALL, WITHIN(\"09:00:00\"))",
	"t1.ns.conf":                  "rewrite policies naming actions the file never adds",
}

// corpusRequests are what each file's golden explains.
var corpusRequests = []struct {
	method, path string
	user         *User
}{
	{"GET", "/", reader},
	{"GET", "/admin/users", reader},
	{"GET", "/admin/users", admin},
	{"POST", "/api/v1/orders?debug=1", reader},
}

// TestCorpusLoadsAsTheApplianceWould loads every public ns.conf of
// testdata/corpus (sources and licences in SOURCES.md) and compares what
// `adc check` sums up and how a few requests are decided with a golden file.
func TestCorpusLoadsAsTheApplianceWould(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	loaded := 0
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg := loadConfig(t, map[string]string{
				"authdev.yaml": personasYAML + "proxy:\n  adc_config: ns.conf\n",
				"ns.conf":      string(data),
			})
			e, err := Compile(cfg)
			_, refused := refusedByTheADC[name]
			if (err != nil) != refused {
				t.Fatalf("refused %v, want %v: %v", err != nil, refused, err)
			}
			if err == nil {
				loaded++
			}
			golden(t, strings.TrimPrefix(path, "testdata/")+".golden", corpusReport(t, e, err))
		})
	}
	t.Logf("%d of %d corpus files load; the %d others hold lines the ADC refuses", loaded, len(files), len(files)-loaded)
}

func corpusReport(t *testing.T, e *Engine, err error) []byte {
	var b strings.Builder
	if err != nil {
		var errs config.Errors
		if !errors.As(err, &errs) {
			t.Fatalf("not config.Errors: %v", err)
		}
		b.WriteString("refused, as by the appliance:\n")
		for _, p := range errs {
			first, _, _ := strings.Cut(p.Msg, "\n")
			fmt.Fprintf(&b, "  ns.conf:%d:%d: %s\n", p.Pos.Line, p.Pos.Col, first)
		}
		return []byte(b.String())
	}
	l := e.Lines()
	fmt.Fprintf(&b, "%d command lines: %d emulated, %d understood but not emulated, %d not emulated and able to change a decision\n",
		l.Total, l.Emulated, l.Understood, l.Decision)
	for _, w := range e.Warnings() {
		if w.Effect == EffectDecision {
			fmt.Fprintf(&b, "  ns.conf:%d: %s\n", w.Pos.Line, w.Msg)
		}
	}
	b.WriteString("decisions:\n")
	for _, r := range corpusRequests {
		req := newRequest(r.method, r.path, r.user)
		req.HTTP.Host = "www.example.com"
		var res Result
		e.Evaluate(req, &res)
		fmt.Fprintf(&b, "  %s %s as %s: %s\n", r.method, r.path, r.user.Name, outcome(&res))
	}
	return []byte(b.String())
}

// outcome says how a request was decided, in the words of `adc explain`.
func outcome(res *Result) string {
	var matched []string
	for _, p := range res.Trace {
		if p.Matched {
			matched = append(matched, p.Name)
		}
	}
	d := "DENY"
	switch r := res.Response; {
	case r != nil && r.Reset:
		d = "RESET"
	case r != nil && r.Drop:
		d = "DROP"
	case r != nil:
		d = fmt.Sprintf("RESPOND %d %s", r.Status, r.Header.Get("Location"))
	case res.Allowed:
		d = "ALLOW"
	}
	d += " by " + cmp.Or(res.Policy, "the default")
	if res.Target != "" {
		d += ", lb vserver " + res.Target
	}
	if len(matched) > 0 {
		d += "; matched " + strings.Join(slices.Compact(matched), ", ")
	}
	return d
}
