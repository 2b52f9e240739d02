package rbactest

import (
	"bytes"
	"fmt"
	"slices"

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
// text src and returns the new text. It edits the YAML node tree, so
// comments and the order of keys stay; yaml.v3 re-indents the file with
// two spaces. A check whose recorded expectation is one value in every
// environment while it had a map keeps the map's environments only when
// the check lists no envs: (the map is what chose where it runs).
func Record(src []byte, recs []Recorded, envOrder []string) ([]byte, error) {
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
