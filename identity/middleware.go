package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

type contextKey struct{}

// NewContext returns a copy of ctx carrying id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

// FromContext returns the identity Middleware verified for this request.
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(contextKey{}).(*Identity)
	return id, ok && id != nil
}

// Middleware verifies the request's assertion and serves next with the
// identity in the context; a request without a valid assertion gets a 401
// JSON answer and never reaches next.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values(Header)
		if len(values) > 1 {
			// The proxy sends exactly one; a second can only come from
			// somewhere else, and choosing between them is a spoofing hole.
			v.refuse(w, r, fmt.Errorf("%w: %d %s headers, want one", ErrMalformed, len(values), Header))
			return
		}
		var raw string
		if len(values) == 1 {
			raw = values[0]
		}
		id, err := v.Verify(r.Context(), raw)
		if err != nil {
			v.refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

func (v *Verifier) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if v.logger != nil {
		v.logger.InfoContext(r.Context(), "identity: refused request", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status, code := http.StatusUnauthorized, "invalid_assertion"
	switch {
	case errors.Is(err, ErrMissing):
		code = "missing_assertion"
	case errors.Is(err, ErrKeySet), errors.Is(err, context.DeadlineExceeded):
		// Our fault or the proxy's, not the caller's: a retry may succeed.
		status, code = http.StatusServiceUnavailable, "keys_unavailable"
	case errors.Is(err, context.Canceled):
		return
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`AuthdevAssertion realm=%q, error=%q`, v.audience, code))
	writeError(w, status, code, err.Error())
}

// RequireRole returns middleware that serves next only to callers holding
// role; others get a 403 JSON answer. It must run inside Verifier.Middleware.
func RequireRole(role string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := FromContext(r.Context())
			if !ok {
				// Fail closed: the handler chain is wired wrongly.
				writeError(w, http.StatusInternalServerError, "server_error",
					"identity.RequireRole runs without an identity: wrap it in Verifier.Middleware")
				return
			}
			if !id.HasRole(role) {
				writeError(w, http.StatusForbidden, "insufficient_role",
					fmt.Sprintf("%s lacks the role %q (has %q in %q)", id.Subject, role, id.Roles, id.Env))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, desc})
}
