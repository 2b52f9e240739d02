package rbactest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/openapi"
)

// placeholder stands for a path parameter the document gives no example
// of; the scaffolded check says to edit it.
func placeholder(name string) string { return "EDIT-" + name }

// ScaffoldCases are the checks --scaffold proposes: one per uncovered
// route and persona, in the environments where the route is uncovered,
// numbered from first (after the config's own checks). Their expectations
// are what running them observes.
func ScaffoldCases(cov *Coverage, personas []string, first int) []Case {
	envsOf := map[string][]string{}
	var order []openapi.Route
	for _, e := range cov.Envs {
		for _, r := range e.Uncovered {
			if _, ok := envsOf[r.String()]; !ok {
				order = append(order, r)
			}
			envsOf[r.String()] = append(envsOf[r.String()], e.Env)
		}
	}
	var out []Case
	n := 0
	for _, r := range order {
		path := r.Fill(placeholder)
		for _, p := range personas {
			ch := &config.Check{Name: p + " " + r.Method + " " + path, As: p, Request: r.Method + " " + path,
				Envs: envsOf[r.String()], Via: "session"}
			for _, env := range ch.Envs {
				out = append(out, Case{Index: first + n, Check: ch, Env: env, Expect: OutcomeAllow, Method: r.Method,
					Path: path, Persona: p, Via: ch.Via})
			}
			n++
		}
	}
	return out
}

// Scaffold appends the scaffolded checks to the checks: list of the
// authdev.yaml text src, with the outcomes of results as expectations,
// and returns the new text and how many checks it added. Everything
// already in the file stays as written. A check that could not run in
// some environment is left out.
func Scaffold(src []byte, cases []Case, results []Result, envOrder []string) ([]byte, int, error) {
	recs := map[int]Recorded{}
	for _, rec := range Expectations(results) {
		recs[rec.Index] = rec
	}
	var lines []string
	seen := map[int]bool{}
	for _, c := range cases {
		rec, ok := recs[c.Index]
		if !ok || seen[c.Index] {
			continue
		}
		seen[c.Index] = true
		lines = append(lines, scaffoldLine(c.Check, rec, envOrder))
	}
	if len(lines) == 0 {
		return src, 0, nil
	}
	out, err := appendChecks(src, lines)
	if err != nil {
		return nil, 0, err
	}
	return out, len(lines), nil
}

// scaffoldLine is one check in flow style, with a comment on placeholders.
func scaffoldLine(ch *config.Check, rec Recorded, envOrder []string) string {
	fields := []string{"as: " + flowScalar(ch.As), "request: " + flowScalar(ch.Request)}
	if rec.All != "" {
		if len(ch.Envs) < len(envOrder) {
			fields = append(fields, "envs: ["+strings.Join(ch.Envs, ", ")+"]")
		}
		fields = append(fields, "expect: "+rec.All)
	} else {
		var per []string
		for _, env := range envOrder {
			if o, ok := rec.PerEnv[env]; ok {
				per = append(per, env+": "+o)
			}
		}
		fields = append(fields, "expect: {"+strings.Join(per, ", ")+"}")
	}
	line := "- {" + strings.Join(fields, ", ") + "}"
	if strings.Contains(ch.Request, placeholder("")) {
		line += " # scaffolded: replace the EDIT- placeholder with a real value"
	}
	return line
}

// flowScalar is s as a scalar in a flow mapping: quoted when it holds a
// character YAML would read as syntax there.
func flowScalar(s string) string {
	if strings.ContainsAny(s, "{}[],#&*!|>'\"%@`?:") {
		return strconv.Quote(s)
	}
	return s
}

// appendChecks adds lines (sequence items) at the end of the checks:
// block list, or a new checks: list at the end of the file.
func appendChecks(src []byte, lines []string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("reading the config to scaffold into: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the config is not a YAML mapping")
	}
	top := doc.Content[0]
	key, val := mapKeyValue(top, "checks")
	text := string(src)
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	switch {
	case key == nil:
		text += "\nchecks:\n" + indent(lines, "  ")
	case val.Kind == yaml.SequenceNode && val.Style != yaml.FlowStyle && len(val.Content) > 0:
		at := insertionOffset(text, top, key)
		text = text[:at] + indent(lines, strings.Repeat(" ", val.Column-1)) + text[at:]
	case val.Kind == yaml.ScalarNode && val.Tag == "!!null":
		starts := lineStarts([]byte(text))
		at := len(text)
		if key.Line < len(starts) {
			at = starts[key.Line]
		}
		text = text[:at] + indent(lines, "  ") + text[at:]
	default:
		return nil, fmt.Errorf("checks: at line %d is not a block list: write it as one item per line (- {...}) to scaffold into it", key.Line)
	}
	return verifyAppended(src, []byte(text), len(lines))
}

// insertionOffset is where the checks list ends: before the next
// top-level key and the blank and comment lines above it, or at the end.
func insertionOffset(text string, top, checksKey *yaml.Node) int {
	starts := lineStarts([]byte(text))
	next := len(starts) // 1-based line after the last
	for i := 0; i+1 < len(top.Content); i += 2 {
		if k := top.Content[i]; k.Line > checksKey.Line && k.Line < next+1 {
			next = k.Line - 1
		}
	}
	lines := strings.SplitAfter(text, "\n")
	for next > checksKey.Line && next <= len(lines) {
		l := strings.TrimSpace(lines[next-1])
		if l != "" && !strings.HasPrefix(l, "#") {
			break
		}
		next--
	}
	if next >= len(starts) {
		return len(text)
	}
	return starts[next]
}

func indent(lines []string, pad string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(pad + l + "\n")
	}
	return b.String()
}

// verifyAppended checks that the new text is the old checks plus n.
func verifyAppended(before, after []byte, n int) ([]byte, error) {
	old, _ := checkNodes(before)
	got, ok := checkNodes(after)
	if !ok || len(got) != len(old)+n {
		return nil, fmt.Errorf("scaffolding would not add %d checks to the file cleanly: add them by hand:\n%s", n, bytes.TrimSpace(after))
	}
	return after, nil
}
