package devproxy

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
)

// pageData fills the proxy's own pages: errors, logout.
type pageData struct {
	Status   int
	Title    string
	Summary  string
	Detail   string
	Link     string
	LinkText string
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{if .Status}}{{.Status}} {{end}}{{.Title}} · authdev</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1f2328}
main{max-width:42rem;margin:4rem auto;padding:2rem;background:#fff;border:1px solid #d0d7de;border-radius:8px}
h1{margin:0 0 .5rem;font-size:1.4rem}.status{color:#57606a;font-weight:normal}
pre{white-space:pre-wrap;background:#f6f8fa;padding:.75rem;border-radius:6px;font-size:.9rem}
footer{margin-top:1.5rem;color:#57606a;font-size:.8rem}
</style></head><body><main>
<h1>{{if .Status}}<span class="status">{{.Status}}</span> {{end}}{{.Title}}</h1>
<p>{{.Summary}}</p>
{{if .Detail}}<pre>{{.Detail}}</pre>{{end}}
{{if .Link}}<p><a href="{{.Link}}">{{.LinkText}}</a></p>{{end}}
<footer>authdev ADC-emulating proxy</footer>
</main></body></html>
`))

// prefersJSON reports whether the client would rather read JSON.
func prefersJSON(r *http.Request) bool {
	accept := strings.ToLower(r.Header.Get("Accept"))
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

// errorPage answers with a page (or JSON for API clients) that says what
// went wrong and where.
func (p *Proxy) errorPage(w http.ResponseWriter, r *http.Request, status int, title, summary, detail string) {
	p.page(w, r, status, pageData{Status: status, Title: title, Summary: summary, Detail: detail})
}

func (p *Proxy) page(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	if prefersJSON(r) {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"status": status, "error": d.Title, "message": d.Summary, "detail": d.Detail})
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		pageTmpl.Execute(w, d)
	}
}
