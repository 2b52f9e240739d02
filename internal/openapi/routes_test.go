package openapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
)

func routeNames(rs []Route) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.String())
	}
	return out
}

// The OpenAPI Specification's own examples are the oracle for what a
// document means: https://spec.openapis.org/oas/v3.1.0#paths-object and
// #server-object (paths are relative to the server URL).
func TestRoutesOfDocumentsIn30And31AsJSONAndYAML(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"testdata/petstore-3.0.yaml", []string{"GET /v1/pets", "POST /v1/pets", "GET /v1/pets/{petId}"}},
		{"testdata/non-oauth-scopes-3.1.yaml", []string{"GET /users"}},
		{"testdata/reports-3.1.json", []string{"GET /reports/{name}", "DELETE /reports/{name}",
			"GET /teams/{team}/members/{id}", "GET /files/{path}.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rs, err := Load(context.Background(), tt.file, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := routeNames(rs); !slices.Equal(got, tt.want) {
				t.Errorf("routes %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPathParametersAreFilledFromTheDocumentsExamples(t *testing.T) {
	rs, err := Load(context.Background(), "testdata/reports-3.1.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(name string) string { return "EDIT-" + name }
	got := []string{rs[0].Fill(edit), rs[2].Fill(edit), rs[3].Fill(edit)}
	want := []string{"/reports/q3", "/teams/platform/members/7", "/files/EDIT-path.json"}
	if !slices.Equal(got, want) {
		t.Errorf("filled %q, want %q", got, want)
	}
	if p := rs[3].Placeholders(); !slices.Equal(p, []string{"path"}) {
		t.Errorf("placeholders %q", p)
	}
}

func TestAConcretePathCoversItsTemplate(t *testing.T) {
	r := Route{Method: "GET", Path: "/reports/{name}"}
	f := Route{Method: "GET", Path: "/files/{path}.json"}
	tests := []struct {
		route  Route
		method string
		path   string
		want   bool
	}{
		{r, "GET", "/reports/q3", true},
		{r, "get", "/reports/q3?format=csv", true},
		{r, "DELETE", "/reports/q3", false},
		{r, "GET", "/reports/", false},
		{r, "GET", "/reports/q3/pages", false},
		{f, "GET", "/files/a.json", true},
		{f, "GET", "/files/a.txt", false},
		{Route{Method: "GET", Path: "/a.b"}, "GET", "/aXb", false},
	}
	for _, tt := range tests {
		if got := tt.route.Covers(tt.method, tt.path); got != tt.want {
			t.Errorf("%s covers %s %s = %v, want %v", tt.route, tt.method, tt.path, got, tt.want)
		}
	}
}

func TestDocumentsThatCannotBeReadSayWhy(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if _, err := Load(context.Background(), srv.URL+"/openapi.json", srv.Client()); !errors.Is(err, ErrNoDocument) {
		t.Errorf("a 404: %v, want ErrNoDocument", err)
	}
	if _, err := Load(context.Background(), "testdata/missing.json", nil); !errors.Is(err, ErrNoDocument) {
		t.Errorf("a missing file: %v, want ErrNoDocument", err)
	}
	swagger := t.TempDir() + "/swagger.yaml"
	os.WriteFile(swagger, []byte("swagger: \"2.0\"\ninfo: {title: x, version: \"1\"}\npaths: {}\n"), 0o600)
	if _, err := Load(context.Background(), swagger, nil); err == nil || !strings.Contains(err.Error(), "use a 3.0 or 3.1 document") {
		t.Errorf("Swagger 2.0: %v", err)
	}
	junk := t.TempDir() + "/junk.json"
	os.WriteFile(junk, []byte("{not json"), 0o600)
	if _, err := Load(context.Background(), junk, nil); err == nil || !strings.Contains(err.Error(), "is not an OpenAPI document") {
		t.Errorf("junk: %v", err)
	}
}
