package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/authdev/authdev/internal/testkit"
)

func TestTheTUIRunsDrillsAndShowsRouteCoverage(t *testing.T) {
	doc, err := os.ReadFile(reportsDoc)
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == openAPIPath {
			w.Write(doc)
			return
		}
		w.Write([]byte("{}"))
	}))
	defer backend.Close()
	s := startDemo(t, "dev", backend.URL)

	var line string
	testkit.Eventually(testkit.WaitTimeout, func() bool { line = s.Info().Coverage; return line != "" })
	// The demo's checks cover GET /reports/{name} (GET /reports/q3) in
	// every environment, and nothing else of the document.
	if !strings.HasPrefix(line, "coverage: routes covered by checks 1/4 dev, 1/4 staging, 1/4 prod (") {
		t.Errorf("coverage line %q", line)
	}

	done, err := s.Drill("idp-down")
	if err != nil || !strings.Contains(done, "drops every connection for 30s") {
		t.Fatalf("idp-down: %q %v", done, err)
	}
	if st := s.DrillState(); st.IdPDownUntil == nil {
		t.Errorf("the IdP is not down: %+v", st)
	}
	if done, err = s.Drill("reset"); err != nil || s.DrillState().IdPDownUntil != nil {
		t.Errorf("reset: %q %v", done, err)
	}
}
