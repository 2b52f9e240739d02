package openapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/datamodel"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// Route is an operation of the document: a method and a path template
// such as /reports/{name}, with the servers' base path prepended.
type Route struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Examples are path parameter values from the document's examples,
	// by parameter name; parameters without one are absent.
	Examples map[string]string `json:"-"`
}

func (r Route) String() string { return r.Method + " " + r.Path }

// ErrNoDocument is a document that is not there (a 404, or no such file).
var ErrNoDocument = errors.New("no OpenAPI document")

// maxDocument bounds a document's size; real ones are well under it.
const maxDocument = 32 << 20

// Load reads the document at src, a URL or a file path, and returns its
// routes.
func Load(ctx context.Context, src string, client *http.Client) ([]Route, error) {
	var data []byte
	var err error
	if u, perr := url.Parse(src); perr == nil && (u.Scheme == "http" || u.Scheme == "https") {
		data, err = fetch(ctx, src, client)
	} else {
		data, err = os.ReadFile(src)
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w: %s does not exist", ErrNoDocument, src)
		}
	}
	if err != nil {
		return nil, err
	}
	return Parse(data, src)
}

func fetch(ctx context.Context, src string, client *http.Client) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, application/yaml;q=0.9, */*;q=0.5")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the OpenAPI document: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("%w at %s (404)", ErrNoDocument, src)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the OpenAPI document: %s answered %s", src, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err == nil && len(data) > maxDocument {
		err = fmt.Errorf("%s is larger than %d MB", src, maxDocument>>20)
	}
	return data, err
}

// Parse reads a document's routes, in the document's order. source names
// it in errors.
func Parse(data []byte, source string) ([]Route, error) {
	// No file or remote $refs: a document describes one backend, and
	// reading it must not reach elsewhere.
	doc, err := libopenapi.NewDocumentWithConfiguration(data, &datamodel.DocumentConfiguration{})
	if err != nil {
		return nil, fmt.Errorf("%s is not an OpenAPI document: %w", source, err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.") {
		return nil, fmt.Errorf("%s is OpenAPI %q: use a 3.0 or 3.1 document (convert Swagger 2.0 with swagger2openapi)", source, v)
	}
	model, err := doc.BuildV3Model()
	if model == nil {
		return nil, fmt.Errorf("%s: reading the OpenAPI document: %w", source, err)
	}
	base := basePath(model.Model.Servers)
	var routes []Route
	if model.Model.Paths == nil || model.Model.Paths.PathItems == nil {
		return nil, nil
	}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			routes = append(routes, Route{Method: strings.ToUpper(method), Path: base + path,
				Examples: examples(append(append([]*v3.Parameter{}, item.Parameters...), op.Parameters...))})
		}
	}
	return routes, nil
}

// basePath is the path of the first server URL ("" for "/" or none):
// the document's paths are relative to it.
func basePath(servers []*v3.Server) string {
	if len(servers) == 0 {
		return ""
	}
	u, err := url.Parse(servers[0].URL)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}

// examples are the path parameters' example values: the parameter's
// example, its first named example, or its schema's example, default or
// first enum value.
func examples(params []*v3.Parameter) map[string]string {
	out := map[string]string{}
	for _, p := range params {
		if p == nil || p.In != "path" {
			continue
		}
		if v := exampleOf(p); v != "" {
			out[p.Name] = v
		}
	}
	return out
}

func exampleOf(p *v3.Parameter) string {
	if p.Example != nil && p.Example.Value != "" {
		return p.Example.Value
	}
	if p.Examples != nil {
		for _, ex := range p.Examples.FromOldest() {
			if ex != nil && ex.Value != nil && ex.Value.Value != "" {
				return ex.Value.Value
			}
		}
	}
	if p.Schema == nil {
		return ""
	}
	s := p.Schema.Schema()
	switch {
	case s == nil:
	case s.Example != nil && s.Example.Value != "":
		return s.Example.Value
	case len(s.Examples) > 0 && s.Examples[0].Value != "":
		return s.Examples[0].Value
	case s.Default != nil && s.Default.Value != "":
		return s.Default.Value
	case len(s.Enum) > 0 && s.Enum[0].Value != "":
		return s.Enum[0].Value
	}
	return ""
}
