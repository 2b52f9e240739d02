package mockidp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
)

func TestAccessTokensAreSelfContainedSoIssuingStoresNothing(t *testing.T) {
	cfg := mustConfig(t, fuzzYAML)
	srv, err := New(cfg, Options{BaseURL: "http://localhost:9400", Store: memStore()})
	if err != nil {
		t.Fatal(err)
	}
	for range 2000 {
		r := httptest.NewRequest(http.MethodPost, "http://localhost:9400/dev/token", strings.NewReader("grant_type=client_credentials"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth("ci", "ci-secret")
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, r)
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	for name, n := range map[string]int{"codes": srv.codes.Len(), "sessions": srv.sessions.Len(), "refresh": srv.refresh.Len(),
		"devices": srv.devices.Len(), "revoked": srv.revoked.Len()} {
		if n != 0 {
			t.Errorf("%d entries in %s after client-credentials tokens", n, name)
		}
	}
}

func mustConfig(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml", t.TempDir(), config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func memStore() state.Store { return state.NewMemory() }
