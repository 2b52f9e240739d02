package main

import (
	"encoding/json"
	"net/http"

	"github.com/authdev/authdev/identity"
)

// newHandler routes the app. Every route but /healthz runs inside the
// verifier's middleware; /admin/ additionally needs the admin role. Who may
// read /reports/ is the proxy's policy, so the app only needs a caller.
func newHandler(v *identity.Verifier) http.Handler {
	authed := http.NewServeMux()
	authed.HandleFunc("GET /{$}", whoAmI)
	authed.Handle("GET /admin/users", identity.RequireRole("admin")(http.HandlerFunc(listUsers)))
	authed.HandleFunc("GET /reports/{name}", report)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("/", v.Middleware(authed))
	return mux
}

func whoAmI(w http.ResponseWriter, r *http.Request) {
	id, _ := identity.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"sub":     id.Subject,
		"email":   id.Email,
		"name":    id.Name,
		"groups":  id.Groups,
		"roles":   id.Roles,
		"env":     id.Env,
		"persona": id.Persona,
	})
}

func listUsers(w http.ResponseWriter, r *http.Request) {
	id, _ := identity.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"users": []map[string]string{
			{"email": "alice@example.com", "role": "admin"},
			{"email": "bob@example.com", "role": "developer"},
			{"email": "carol@example.com", "role": "viewer"},
		},
		"requested_by": id.Email,
	})
}

func report(w http.ResponseWriter, r *http.Request) {
	id, _ := identity.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"report": r.PathValue("name"),
		"reader": id.Email,
		"env":    id.Env,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
