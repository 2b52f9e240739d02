package mockidp

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

//go:embed templates/pages.html templates/saml.html
var pageFS embed.FS

func parsePages() (*template.Template, error) {
	return template.New("pages").Funcs(template.FuncMap{"join": strings.Join}).ParseFS(pageFS, "templates/pages.html", "templates/saml.html")
}

// personaView is a persona as the pickers show it in one environment.
type personaView struct {
	ID, Name, Email string
	Groups, Roles   []string
}

func (ep *issuerEP) personaViews() []personaView {
	out := make([]personaView, 0, len(ep.s.cfg.Personas))
	for _, p := range ep.s.cfg.Personas {
		id, _ := ep.s.cfg.IdentityIn(p.ID, ep.env.cfg.Name)
		out = append(out, personaView{ID: p.ID, Name: id.Name, Email: id.Email, Groups: id.Groups, Roles: ep.env.cfg.RolesFor(id.Groups)})
	}
	return out
}

type pickerPage struct {
	Title, Env, EnvDescription, Client, Action, Notice, Legend string
	Personas                                                   []personaView
	UserCode                                                   string
}

// picker renders the persona picker; its form posts back to /authorize
// with the request's parameters in the URL (see authorize).
func (ep *issuerEP) picker(w http.ResponseWriter, ap *authzParams, status int, notice string) {
	action := url.URL{Path: ep.s.basePath + ep.env.layout.Authorization, RawQuery: ap.values.Encode()}
	ep.s.render(w, status, "picker", pickerPage{
		Title: "Sign in to " + ep.env.cfg.Name, Env: ep.env.cfg.Name, EnvDescription: ep.env.cfg.Description,
		Client: ap.client.id, Action: action.String(), Notice: notice, Legend: "Sign in as",
		Personas: ep.personaViews(),
	})
}

type messagePage struct {
	Title, Message string
	Alert          bool
}

// errorPage answers a browser with an explanation, never a redirect.
func (s *Server) errorPage(w http.ResponseWriter, status int, title, message string) {
	s.render(w, status, "message", messagePage{Title: title, Message: message, Alert: true})
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// No form-action: browsers apply it to the redirect after a form post,
	// which would block the redirect back to the client.
	if h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

type indexRow struct{ Env, Issuer, Discovery, Flavor string }

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	var rows []indexRow
	for _, e := range s.cfg.Environments {
		eps := s.envs[e.Name].ep.endpoints()
		rows = append(rows, indexRow{Env: e.Name, Issuer: eps.Issuer, Discovery: eps.Discovery, Flavor: string(e.Flavor)})
	}
	s.render(w, http.StatusOK, "index", struct {
		Title   string
		Issuers []indexRow
	}{"Issuers", rows})
}
