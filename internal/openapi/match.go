package openapi

import (
	"regexp"
	"strings"
)

// templateParam is a path template's {name}.
var templateParam = regexp.MustCompile(`\{([^{}/]+)\}`)

// Covers reports whether a request to method and path (a concrete path,
// its query ignored) is an instance of r: GET /reports/q3 covers
// GET /reports/{name}.
func (r Route) Covers(method, path string) bool {
	if !strings.EqualFold(method, r.Method) {
		return false
	}
	path, _, _ = strings.Cut(path, "?")
	return pattern(r.Path).MatchString(path)
}

// pattern turns a path template into an anchored expression in which each
// {name} is one non-empty path segment or part of one.
func pattern(template string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, m := range templateParam.FindAllStringIndex(template, -1) {
		b.WriteString(regexp.QuoteMeta(template[last:m[0]]))
		b.WriteString(`[^/]+?`)
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(template[last:]) + "/?$")
	return regexp.MustCompile(b.String())
}

// Fill is r's path with each parameter replaced by its example, or by
// placeholder(name) for a parameter without one.
func (r Route) Fill(placeholder func(name string) string) string {
	return templateParam.ReplaceAllStringFunc(r.Path, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := r.Examples[name]; ok {
			return v
		}
		return placeholder(name)
	})
}

// Placeholders lists r's parameters that have no example.
func (r Route) Placeholders() []string {
	var out []string
	for _, m := range templateParam.FindAllStringSubmatch(r.Path, -1) {
		if _, ok := r.Examples[m[1]]; !ok {
			out = append(out, m[1])
		}
	}
	return out
}
