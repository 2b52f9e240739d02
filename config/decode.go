package config

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks a YAML node tree into Go values by reflection, collecting
// every problem instead of stopping at the first, so that a user fixes a
// file in one round.
type decoder struct {
	file      string
	lookupEnv func(string) (string, bool)
	errs      Errors
	// keyPos records where each struct field was set, by the field's
	// address, so that validation can point at the value it rejects.
	keyPos map[uintptr]Pos
}

var (
	posType      = reflect.TypeFor[Pos]()
	durationType = reflect.TypeFor[Duration]()
	exprType     = reflect.TypeFor[Expr]()
	expectType   = reflect.TypeFor[Expect]()
)

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) decode(n *yaml.Node, v reflect.Value) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Tag == "!!null" && v.Kind() != reflect.Interface {
		return // an empty value keeps the default
	}
	switch v.Type() {
	case durationType:
		d.decodeDuration(n, v)
		return
	case exprType:
		d.decodeExpr(n, v)
		return
	case expectType:
		d.decodeExpect(n, v)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem())
	case reflect.Struct:
		d.decodeStruct(n, v)
	case reflect.Slice:
		if keyField(v.Type().Elem()) >= 0 {
			d.decodeKeyedList(n, v)
		} else {
			d.decodeSlice(n, v)
		}
	case reflect.Map:
		d.decodeMap(n, v)
	case reflect.Interface:
		var out any
		if err := n.Decode(&out); err != nil {
			d.errs.add(d.pos(n), "%v", err)
			return
		}
		if out = d.expandAny(n, out); out == nil {
			v.Set(reflect.Zero(v.Type())) // a null value
			return
		}
		v.Set(reflect.ValueOf(out))
	case reflect.String:
		if s, ok := d.scalar(n, "a string", "!!str", "!!int", "!!float"); ok {
			v.SetString(d.expand(n, s))
		}
	case reflect.Int:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
			n = &yaml.Node{Kind: n.Kind, Tag: "!!int", Value: d.expand(n, n.Value), Line: n.Line, Column: n.Column}
		}
		if _, ok := d.scalar(n, "a whole number", "!!int"); ok {
			var i int
			if err := n.Decode(&i); err != nil {
				d.errs.add(d.pos(n), "expected a whole number, found %q", n.Value)
				return
			}
			v.SetInt(int64(i))
		}
	case reflect.Bool:
		if _, ok := d.scalar(n, "true or false", "!!bool"); ok {
			var b bool
			_ = n.Decode(&b)
			v.SetBool(b)
		}
	default:
		d.errs.add(d.pos(n), "cannot decode into %s", v.Type())
	}
}

// scalar checks that n is a scalar with one of the given tags.
func (d *decoder) scalar(n *yaml.Node, what string, tags ...string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errs.add(d.pos(n), "expected %s, found %s", what, describe(n))
		return "", false
	}
	for _, t := range tags {
		if n.Tag == t {
			return n.Value, true
		}
	}
	d.errs.add(d.pos(n), "expected %s, found %s %q", what, describe(n), n.Value)
	return "", false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!bool":
		return "a boolean"
	case "!!int", "!!float":
		return "a number"
	case "!!str":
		return "a string"
	}
	return "a value"
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errs.add(d.pos(n), "expected a mapping, found %s", describe(n))
		return
	}
	t := v.Type()
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == posType && f.Name == "Pos" {
			v.Field(i).Set(reflect.ValueOf(d.pos(n)))
			continue
		}
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		idx, ok := fields[k.Value]
		if !ok {
			d.errs.add(d.pos(k), "unknown key %q%s", k.Value, didYouMean(k.Value, names))
			continue
		}
		if seen[k.Value] {
			d.errs.add(d.pos(k), "key %q appears twice: keep one", k.Value)
			continue
		}
		seen[k.Value] = true
		if f := v.Field(idx); f.CanAddr() {
			d.keyPos[f.Addr().Pointer()] = d.pos(val)
		}
		d.decode(val, v.Field(idx))
	}
}

// keyField is the index of the field tagged authdev:"key", or -1. Slices of
// such structs decode from a mapping and keep its order.
func keyField(t reflect.Type) int {
	if t.Kind() != reflect.Struct {
		return -1
	}
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("authdev") == "key" {
			return i
		}
	}
	return -1
}

func valueField(t reflect.Type) int {
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("authdev") == "value" {
			return i
		}
	}
	return -1
}

func (d *decoder) decodeKeyedList(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errs.add(d.pos(n), "expected a mapping of names, found %s", describe(n))
		return
	}
	et := v.Type().Elem()
	kf, vf := keyField(et), valueField(et)
	// Decode in place, in a slice made once, so that the field addresses
	// recorded in keyPos stay valid.
	s := reflect.MakeSlice(v.Type(), 0, len(n.Content)/2)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			d.errs.add(d.pos(k), "%q appears twice: keep one", k.Value)
			continue
		}
		seen[k.Value] = true
		s = reflect.Append(s, reflect.New(et).Elem())
		e := s.Index(s.Len() - 1)
		e.Field(kf).SetString(k.Value)
		if vf >= 0 {
			d.decode(val, e.Field(vf))
		} else if val.Tag != "!!null" {
			d.decode(val, e)
		}
		if p := e.FieldByName("Pos"); p.IsValid() && p.Type() == posType {
			p.Set(reflect.ValueOf(d.pos(k)))
		}
	}
	v.Set(s)
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.errs.add(d.pos(n), "expected a list, found %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		d.decode(c, s.Index(i))
	}
	v.Set(s)
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errs.add(d.pos(n), "expected a mapping, found %s", describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if v.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			d.errs.add(d.pos(k), "key %q appears twice: keep one", k.Value)
			continue
		}
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, e)
		v.SetMapIndex(reflect.ValueOf(k.Value), e)
	}
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value) {
	s, ok := d.scalar(n, `a duration such as "30s" or "5m"`, "!!str", "!!int")
	if !ok {
		return
	}
	s = d.expand(n, s)
	dur, err := time.ParseDuration(s)
	if err != nil || dur < 0 {
		d.errs.add(d.pos(n), "invalid duration %q: write a number with a unit, such as \"30s\", \"5m\" or \"1h\"", s)
		return
	}
	v.Set(reflect.ValueOf(Duration(dur)))
}

func (d *decoder) decodeExpr(n *yaml.Node, v reflect.Value) {
	s, ok := d.scalar(n, "an expression", "!!str", "!!bool", "!!int")
	if !ok {
		return
	}
	p := d.pos(n)
	// Point at the expression's first character, not at the opening quote,
	// so that expression errors line their caret up with the file.
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		p.Col++
	}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		p.Line++
		p.Col = 0
	}
	v.Set(reflect.ValueOf(Expr{Text: s, Pos: p}))
}

func (d *decoder) decodeExpect(n *yaml.Node, v reflect.Value) {
	if n.Kind == yaml.MappingNode {
		e := Expect{PerEnv: map[string]string{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if s, ok := d.expectation(val); ok {
				e.PerEnv[k.Value] = s
			}
		}
		v.Set(reflect.ValueOf(e))
		return
	}
	if s, ok := d.expectation(n); ok {
		v.Set(reflect.ValueOf(Expect{All: s}))
	}
}

var statusRE = regexp.MustCompile(`^[1-5][0-9][0-9]$`)

func (d *decoder) expectation(n *yaml.Node) (string, bool) {
	s, ok := d.scalar(n, `an expectation ("allow", "deny" or a status code)`, "!!str", "!!int")
	if !ok {
		return "", false
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if s != "allow" && s != "deny" && !statusRE.MatchString(s) {
		d.errs.add(d.pos(n), "invalid expectation %q: use \"allow\", \"deny\" or an HTTP status code such as 403%s", s, didYouMean(s, []string{"allow", "deny"}))
		return "", false
	}
	return s, true
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expand replaces ${NAME} and ${NAME:-default} with environment variables,
// so secrets stay out of the file. An unset variable without a default is an
// error rather than a silent empty secret.
func (d *decoder) expand(n *yaml.Node, s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return envRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := envRef.FindStringSubmatch(m)
		if val, ok := d.lookupEnv(sub[1]); ok {
			return val
		}
		if sub[2] != "" {
			return sub[3]
		}
		d.errs.add(d.pos(n), "environment variable %s is not set: export it, or write ${%s:-default}", sub[1], sub[1])
		return ""
	})
}

func (d *decoder) expandAny(n *yaml.Node, v any) any {
	switch x := v.(type) {
	case string:
		return d.expand(n, x)
	case []any:
		for i := range x {
			x[i] = d.expandAny(n, x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = d.expandAny(n, x[k])
		}
	}
	return v
}

// Duration is a time.Duration written as "30s" or "5m" in YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes the duration as "5m0s".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func osLookup(name string) (string, bool) { return os.LookupEnv(name) }

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
