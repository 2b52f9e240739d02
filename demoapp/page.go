package demoapp

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"slices"
	"time"
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
	"claim": func(name string, v any) string {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err.Error()
		}
		// Numeric dates are unreadable as seconds since 1970.
		if f, ok := v.(float64); ok && isTimeClaim(name) {
			return fmt.Sprintf("%s (%s)", b, time.Unix(int64(f), 0).UTC().Format("2006-01-02 15:04:05 MST"))
		}
		return string(b)
	},
	"sortedKeys":   func(m map[string][]string) []string { return slices.Sorted(maps.Keys(m)) },
	"sortedClaims": func(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) },
}).Parse(pageSource))

// isTimeClaim reports whether a registered claim holds a NumericDate.
func isTimeClaim(name string) bool {
	switch name {
	case "iat", "exp", "nbf", "auth_time":
		return true
	}
	return false
}

type pageData struct {
	*Report
	LogoutPath string
}
