package rbactest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Recorded is the expectation Record writes for one check.
type Recorded struct {
	Index  int
	All    string            // one outcome for every environment it ran in
	PerEnv map[string]string // otherwise, one per environment
}

// Expectations turns results into expectations: "allow", "deny" or the
// status code observed. Checks that could not run somewhere are left out
// (their expectation stays as written), and so are results of other
// environments than those run.
func Expectations(results []Result) []Recorded {
	byCheck := map[int]map[string]string{}
	broken := map[int]bool{}
	var order []int
	for _, r := range results {
		if r.Outcome == OutcomeError {
			broken[r.Index] = true
			continue
		}
		if _, ok := byCheck[r.Index]; !ok {
			byCheck[r.Index] = map[string]string{}
			order = append(order, r.Index)
		}
		byCheck[r.Index][r.Env] = r.Outcome
	}
	var out []Recorded
	for _, i := range order {
		if broken[i] {
			continue
		}
		m := byCheck[i]
		distinct := map[string]bool{}
		for _, o := range m {
			distinct[o] = true
		}
		rec := Recorded{Index: i}
		if len(distinct) == 1 {
			for o := range distinct {
				rec.All = o
			}
		} else {
			rec.PerEnv = m
		}
		out = append(out, rec)
	}
	return out
}

// Record rewrites the expect: of the recorded checks in the authdev.yaml
// text src and returns the new text. Only the expect values change: each
// is replaced in the text where it stands, so comments, blank lines and
// layout stay as written. When a value cannot be located exactly, the
// whole file is re-encoded from its YAML node tree instead, which keeps
// comments and key order but re-indents with two spaces. A check whose
// recorded expectation is one value in every environment while it had a
// map keeps the map's environments only when the check lists no envs:
// (the map is what chose where it runs).
func Record(src []byte, recs []Recorded, envOrder []string) ([]byte, error) {
	tree, err := recordTree(src, recs, envOrder)
	if err != nil {
		return nil, err
	}
	if out, ok := recordText(src, tree, recs); ok {
		return out, nil
	}
	return tree, nil
}

// recordTree edits the node tree and encodes it again.
func recordTree(src []byte, recs []Recorded, envOrder []string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("reading the config to record into: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the config is not a YAML mapping")
	}
	checks := mapValue(doc.Content[0], "checks")
	if checks == nil || checks.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("the config has no checks: list to record into")
	}
	for _, rec := range recs {
		if rec.Index >= len(checks.Content) {
			return nil, fmt.Errorf("check #%d is not in the file: was it changed during the run?", rec.Index+1)
		}
		ch := checks.Content[rec.Index]
		if ch.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("check #%d at line %d is not a mapping", rec.Index+1, ch.Line)
		}
		old := mapValue(ch, "expect")
		val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: rec.All}
		keepMap := old != nil && old.Kind == yaml.MappingNode && mapValue(ch, "envs") == nil
		if rec.All == "" || keepMap {
			val = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
			for _, env := range envOrder {
				o, ok := rec.PerEnv[env]
				if rec.All != "" {
					o, ok = rec.All, mapValue(old, env) != nil
				}
				if !ok {
					continue
				}
				val.Content = append(val.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: env},
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: o})
			}
			if old != nil && old.Kind == yaml.MappingNode {
				// Environments that did not run keep their expectation.
				for i := 0; i+1 < len(old.Content); i += 2 {
					if mapValue(val, old.Content[i].Value) == nil && !slices.Contains(envOrder, old.Content[i].Value) {
						val.Content = append(val.Content, old.Content[i], old.Content[i+1])
					}
				}
			}
		}
		if statusRE(val) {
			val.Tag = "!!int"
		}
		setMapValue(ch, "expect", val)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	enc.Close()
	return buf.Bytes(), nil
}

// statusRE reports whether a scalar is a status code (written unquoted).
func statusRE(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode || len(n.Value) != 3 {
		return false
	}
	for _, c := range n.Value {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setMapValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			// Keep a comment written after the old value.
			v.LineComment = m.Content[i+1].LineComment
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// recordText splices the expect values that recordTree computed into the
// original text. It reports false when a value's extent is not certain or
// the result does not decode to the same expectations as tree.
func recordText(src, tree []byte, recs []Recorded) ([]byte, bool) {
	oldChecks, ok1 := checkNodes(src)
	newChecks, ok2 := checkNodes(tree)
	if !ok1 || !ok2 || len(oldChecks) != len(newChecks) {
		return nil, false
	}
	lines := lineStarts(src)
	type edit struct {
		from, to int
		text     string
	}
	var edits []edit
	for _, rec := range recs {
		oldCh, newCh := oldChecks[rec.Index], newChecks[rec.Index]
		k, v := mapKeyValue(oldCh, "expect")
		nv := mapValue(newCh, "expect")
		if k == nil || nv == nil {
			return nil, false
		}
		from, to, ok := valueExtent(src, lines, k, v)
		if !ok {
			return nil, false
		}
		edits = append(edits, edit{from, to, " " + flowText(nv)})
	}
	// Apply from the end of the file so earlier offsets stay valid.
	slices.SortFunc(edits, func(a, b edit) int { return b.from - a.from })
	out := slices.Clone(src)
	for i, e := range edits {
		if i > 0 && e.to > edits[i-1].from {
			return nil, false
		}
		out = append(out[:e.from], append([]byte(e.text), out[e.to:]...)...)
	}
	// The spliced text must say what the tree says.
	got, ok1 := checkNodes(out)
	if !ok1 || len(got) != len(newChecks) {
		return nil, false
	}
	for _, rec := range recs {
		if flowText(mapValue(got[rec.Index], "expect")) != flowText(mapValue(newChecks[rec.Index], "expect")) {
			return nil, false
		}
	}
	return out, true
}

func checkNodes(src []byte) ([]*yaml.Node, bool) {
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 {
		return nil, false
	}
	checks := mapValue(doc.Content[0], "checks")
	if checks == nil || checks.Kind != yaml.SequenceNode {
		return nil, false
	}
	return checks.Content, true
}

func mapKeyValue(m *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// valueExtent is the byte range from just after "expect:" to the end of
// its value (a scalar, a flow mapping, or a block mapping of one-line
// entries).
func valueExtent(src []byte, lines []int, k, v *yaml.Node) (from, to int, ok bool) {
	kStart, ok := offset(src, lines, k.Line, k.Column)
	if !ok || !bytes.HasPrefix(src[kStart:], []byte(k.Value)) {
		return 0, 0, false
	}
	colon := kStart + len(k.Value)
	for colon < len(src) && src[colon] == ' ' {
		colon++
	}
	if colon >= len(src) || src[colon] != ':' {
		return 0, 0, false
	}
	from = colon + 1
	start, ok := offset(src, lines, v.Line, v.Column)
	if !ok {
		return 0, 0, false
	}
	switch {
	case v.Kind == yaml.ScalarNode && v.Style == 0:
		to = start + len(v.Value)
		ok = to <= len(src) && string(src[start:to]) == v.Value
	case v.Kind == yaml.ScalarNode && (v.Style == yaml.DoubleQuotedStyle || v.Style == yaml.SingleQuotedStyle):
		q := src[start]
		end := bytes.IndexByte(src[start+1:], q)
		to = start + 1 + end + 1
		ok = end >= 0 && string(src[start+1:to-1]) == v.Value
	case v.Kind == yaml.MappingNode && v.Style == yaml.FlowStyle:
		end := bytes.IndexByte(src[start:], '}')
		to = start + end + 1
		ok = end >= 0 && !bytes.ContainsAny(src[start:to], "\n\"'#[")
	case v.Kind == yaml.MappingNode && len(v.Content) > 0:
		// Block mapping: it ends with the line of its last value.
		last := v.Content[len(v.Content)-1]
		if last.Kind != yaml.ScalarNode || last.Line < 1 || last.Line > len(lines) {
			return 0, 0, false
		}
		to = len(src)
		if last.Line < len(lines) {
			to = lines[last.Line] - 1
		}
		ok = !bytes.Contains(src[from:to], []byte("#"))
	default:
		ok = false
	}
	return from, to, ok
}

func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offset turns yaml.v3's line and column (1-based, in characters) into a
// byte offset.
func offset(src []byte, lines []int, line, col int) (int, bool) {
	if line < 1 || line > len(lines) || col < 1 {
		return 0, false
	}
	i := lines[line-1]
	for c := 1; c < col; c++ {
		if i >= len(src) || src[i] == '\n' {
			return 0, false
		}
		_, size := utf8.DecodeRune(src[i:])
		i += size
	}
	return i, true
}

// flowText writes an expectation in flow style: allow, 403 or
// {dev: allow, prod: deny}.
func flowText(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	parts := make([]string, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		parts = append(parts, n.Content[i].Value+": "+n.Content[i+1].Value)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
