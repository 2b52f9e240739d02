package demoapp

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"maps"
	"slices"
)

//go:embed page.html.tmpl
var pageSource string

// page is parsed once at start; the template is a compile-time constant, so
// a parse error is a build defect caught by the package's tests.
var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"json": func(v any) string {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err.Error()
		}
		return string(b)
	},
	"sortedKeys":   func(m map[string][]string) []string { return slices.Sorted(maps.Keys(m)) },
	"sortedClaims": func(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) },
}).Parse(pageSource))

type pageData struct {
	*Report
	LogoutPath string
}
