package identity_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authdev/authdev/identity"
	"github.com/authdev/authdev/identity/identitytest"
)

// whoami answers with the identity the middleware put in the context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id, ok := identity.FromContext(r.Context())
	if !ok {
		http.Error(w, "no identity", http.StatusTeapot)
		return
	}
	fmt.Fprintf(w, "%s %s", id.Email, strings.Join(id.Roles, ","))
})

type apiError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func TestMiddleware(t *testing.T) {
	p, v, clk := setup(t)
	h := v.Middleware(whoami)
	tests := []struct {
		name       string
		headers    []string
		wantStatus int
		wantBody   string
		wantError  string
	}{
		{"a valid assertion reaches the handler with its identity", []string{p.Assertion(t, "alice", "admin")}, 200, "alice@example.com admin", ""},
		{"no assertion is a 401", nil, 401, "", "missing_assertion"},
		{"an expired assertion is a 401", []string{func() string {
			c := p.Claims("alice")
			c.Expiry = jwt.NewNumericDate(clk.Now().Add(-time.Minute))
			return p.Sign(t, c)
		}()}, 401, "", "invalid_assertion"},
		{"two assertions are a 401 even if both are valid", []string{p.Assertion(t, "alice", "admin"), p.Assertion(t, "bob")}, 401, "", "invalid_assertion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			for _, h := range tt.headers {
				req.Header.Add(identity.Header, h)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantError == "" {
				if rec.Body.String() != tt.wantBody {
					t.Fatalf("body = %q, want %q", rec.Body, tt.wantBody)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if wa := rec.Header().Get("WWW-Authenticate"); !strings.Contains(wa, tt.wantError) {
				t.Errorf("WWW-Authenticate = %q, want it to name %q", wa, tt.wantError)
			}
			var e apiError
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if e.Error != tt.wantError || e.Description == "" {
				t.Fatalf("error = %+v, want %q with a description", e, tt.wantError)
			}
		})
	}
}

func TestMiddlewareAnswers503WhenKeysAreUnavailable(t *testing.T) {
	p, _, _ := setup(t)
	v := p.Verifier(t, identity.Options{Audience: "app", JWKSURL: "http://127.0.0.1:1/jwks.json"})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(identity.Header, p.Assertion(t, "alice"))
	rec := httptest.NewRecorder()
	v.Middleware(whoami).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503; body %s", rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), "is authdev running") {
		t.Errorf("body %s does not say how to fix it", rec.Body)
	}
}

func TestRequireRole(t *testing.T) {
	p, v, _ := setup(t)
	h := v.Middleware(identity.RequireRole("admin")(whoami))
	tests := []struct {
		name       string
		roles      []string
		wantStatus int
		wantError  string
	}{
		{"an admin is served", []string{"reader", "admin"}, 200, ""},
		{"a reader is forbidden", []string{"reader"}, 403, "insufficient_role"},
		{"a caller without roles is forbidden", nil, 403, "insufficient_role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/admin/users", nil)
			req.Header.Set(identity.Header, p.Assertion(t, "bob", tt.roles...))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantError != "" {
				var e apiError
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error != tt.wantError {
					t.Fatalf("body %s, want error %q", rec.Body, tt.wantError)
				}
				if !strings.Contains(e.Description, `"admin"`) {
					t.Errorf("description %q does not name the missing role", e.Description)
				}
			}
		})
	}
}

func TestRequireRoleWithoutMiddlewareFailsClosed(t *testing.T) {
	rec := httptest.NewRecorder()
	identity.RequireRole("admin")(whoami).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
}

func TestFromContextWithoutIdentity(t *testing.T) {
	if id, ok := identity.FromContext(context.Background()); ok || id != nil {
		t.Fatalf("FromContext(empty) = %v, %v", id, ok)
	}
	if _, ok := identity.FromContext(identity.NewContext(context.Background(), nil)); ok {
		t.Fatal("FromContext reported a nil identity as present")
	}
}

// BenchmarkVerifyCachedKey measures Verify once the key set is downloaded:
// "reused assertion" is the common case behind the proxy, which reuses a
// session's assertion for most of its life; "fresh assertion" pays the
// ECDSA verification every time.
func BenchmarkVerifyCachedKey(b *testing.B) {
	for _, bc := range []struct {
		name      string
		cacheSize int
	}{{"reused assertion", 0}, {"fresh assertion", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			p := identitytest.New(b, "app")
			v := p.Verifier(b, identity.Options{Audience: "app", CacheSize: bc.cacheSize})
			tok := p.Assertion(b, "alice", "admin")
			ctx := context.Background()
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := v.Verify(ctx, tok); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkMiddlewareCachedKey(b *testing.B) {
	p := identitytest.New(b, "app")
	v := p.Verifier(b, identity.Options{Audience: "app"})
	h := v.Middleware(identity.RequireRole("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})))
	tok := p.Assertion(b, "alice", "admin")
	req := httptest.NewRequest("GET", "/admin/users", nil)
	req.Header.Set(identity.Header, tok)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
