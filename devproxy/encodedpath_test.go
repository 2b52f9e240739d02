package devproxy_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/authdev/authdev/devproxy"
)

// Go's ServeMux, like Starlette, routes /%61dmin/users to its /admin/users
// handler: the proxy must not let such a path past a STARTSWITH("/admin")
// policy. It sends the client to the clean path (RFC 3986 §6.2.2.2), as it
// does for dot segments, so the policy, `adc explain` and the backend see
// one path. https://www.rfc-editor.org/rfc/rfc3986#section-6.2.2.2
func TestPercentEncodedUnreservedCharactersRedirectToTheCleanPath(t *testing.T) {
	var mu sync.Mutex
	var adminHits int
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/users", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		adminHits++
		mu.Unlock()
		echoHandler("api").ServeHTTP(w, r)
	})
	mux.Handle("/", echoHandler("api"))
	backend := httptest.NewServer(mux)
	t.Cleanup(backend.Close)
	e := start(t, setup{upstreams: upstreamTo(backend.URL)})
	bob := e.bearer("bob") // a reader, not an admin

	tests := []struct{ path, clean string }{
		{"/%61dmin/users", "/admin/users"},
		{"/%41DMIN/users", "/ADMIN/users"},
		{"/adm%69n/us%65rs?x=1", "/admin/users?x=1"},
		{"/%2e%2e/admin/users", "/admin/users"},
		{"/x/%2E./admin/users", "/admin/users"},
		{"/a%2Db%5Fc%7Ed%2E", "/a-b_c~d."},
		{"/%7e%30", "/~0"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := get(t, noFollow(nil), e.url+tt.path, bob...)
			resp.Body.Close()
			if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != tt.clean {
				t.Fatalf("%s: status %d to %q, want 308 to %q", tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.clean)
			}
			if got := devproxy.CanonicalPath(cutQuery(tt.path)); got != cutQuery(tt.clean) {
				t.Errorf("CanonicalPath(%q) = %q, want %q", cutQuery(tt.path), got, cutQuery(tt.clean))
			}
		})
	}
	t.Run("a reader following the redirect is refused by the policy", func(t *testing.T) {
		resp := get(t, http.DefaultClient, e.url+"/%61dmin/users", bob...)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403 from the admin-area policy", resp.StatusCode)
		}
	})
	t.Run("reserved characters stay encoded", func(t *testing.T) {
		s := readSeen(t, get(t, noFollow(nil), e.url+"/files/a%2Fb%3F", bob...))
		if s.Path != "/files/a/b?" {
			t.Errorf("backend saw %q", s.Path)
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if adminHits != 0 {
		t.Errorf("the backend's /admin/users handler ran %d times for a reader", adminHits)
	}
}

func cutQuery(p string) string {
	for i := range len(p) {
		if p[i] == '?' {
			return p[:i]
		}
	}
	return p
}
