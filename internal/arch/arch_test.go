package arch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/authdev/authdev/"

// pkg is what `go list -json` says of a package.
type pkg struct {
	ImportPath   string
	Imports      []string // direct, of the non-test files
	Deps         []string // transitive, of the non-test files
	TestImports  []string
	XTestImports []string
}

// rule forbids from (a package, or a tree with "/...") to reach to.
type rule struct {
	from, to string
	reach    reach
	why      string
}

// reach is what of a package a rule looks at.
type reach int

const (
	linked   reach = iota // everything it links
	imported              // its own imports, test files included
	shipped               // its own imports, test files excluded
)

var rules = []rule{
	{from: "mockidp/...", to: "devproxy/...", why: "the IdP and the proxy meet only in internal/stack"},
	{from: "devproxy/...", to: "mockidp/...", why: "the IdP and the proxy meet only in internal/stack"},
	{from: "tui/...", to: "mockidp/...", why: "the TUI sees the stack only through tui.Stack"},
	{from: "tui/...", to: "devproxy/...", why: "the TUI sees the stack only through tui.Stack"},
	{from: "tui/...", to: "internal/stack/...", why: "the TUI sees the stack only through tui.Stack"},
	{from: "internal/stack/...", to: "tui/...", why: "the TUI adapter lives in internal/cli, so `authdev test` does not link the TUI"},
	{from: "internal/rbactest/...", to: "tui/...", why: "`authdev test` does not link the TUI"},
	{from: "adc/...", to: "audit/...", why: "adc reports in its own types; audit converts them"},
	{from: "adc/...", to: "devproxy/...", why: "the policy engine knows nothing of the proxy that runs it"},
	{from: "*", to: "github.com/spf13/cobra/...", reach: imported, why: "commands live in internal/cli"},
	{from: "*", to: "internal/cli/...", reach: imported, why: "cmd/authdev is the only entry to the commands"},
	{from: "*", to: "internal/testkit/...", reach: shipped, why: "test helpers never reach the binary"},
	{from: "*", to: "internal/stack/stacktest", reach: shipped, why: "test helpers never reach the binary"},
	{from: "*", to: "mockidp/idptest", reach: shipped, why: "test helpers never reach the binary"},
}

// allowed are the packages a rule of from "*" lets through.
var allowed = map[string][]string{
	"github.com/spf13/cobra/...": {"internal/cli/..."},
	"internal/cli/...":           {"cmd/authdev", "internal/cli/..."},
	"internal/testkit/...":       {"internal/testkit/...", "internal/stack/stacktest"},
	"internal/stack/stacktest":   {"internal/stack/stacktest"},
	"mockidp/idptest":            {"mockidp/idptest"},
}

// matches reports whether path is pattern: a module-relative name or a
// full import path, "/..." for the tree below it, "*" for any package of
// the module.
func matches(pattern, path string) bool {
	if pattern == "*" {
		return strings.HasPrefix(path, module)
	}
	if host, _, _ := strings.Cut(pattern, "/"); !strings.Contains(host, ".") {
		pattern = module + pattern
	}
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == tree || strings.HasPrefix(path, tree+"/")
	}
	return path == pattern
}

// violations lists every forbidden arrow in pkgs, one line each.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		for _, r := range rules {
			if !matches(r.from, p.ImportPath) || slices.ContainsFunc(allowed[r.to], func(a string) bool { return matches(a, p.ImportPath) }) {
				continue
			}
			reach, how := p.Deps, "depends on"
			switch r.reach {
			case imported:
				reach, how = slices.Concat(p.Imports, p.TestImports, p.XTestImports), "imports"
			case shipped:
				reach, how = p.Imports, "imports outside its tests"
			}
			for _, d := range reach {
				if matches(r.to, d) {
					out = append(out, fmt.Sprintf("%s %s %s: %s", p.ImportPath, how, d, r.why))
				}
			}
		}
	}
	return out
}

// listModule runs `go list -deps -json` on the module's packages.
func listModule(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps,TestImports,XTestImports", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestTheModuleKeepsItsArrows(t *testing.T) {
	pkgs := listModule(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages: is the test running in the module?", len(pkgs))
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

func TestAForbiddenImportIsReported(t *testing.T) {
	graph := []pkg{
		{ImportPath: module + "tui", Deps: []string{module + "audit", module + "internal/stack", module + "devproxy"}},
		{ImportPath: module + "mockidp/idptest", Deps: []string{module + "devproxy"}},
		{ImportPath: module + "adc", Deps: []string{module + "audit"}},
		{ImportPath: module + "config", TestImports: []string{"github.com/spf13/cobra"}},
		{ImportPath: module + "internal/cli", Imports: []string{"github.com/spf13/cobra"}},
		{ImportPath: module + "internal/stack", XTestImports: []string{module + "internal/cli"}},
		{ImportPath: module + "cmd/authdev", Imports: []string{module + "internal/cli"}},
		{ImportPath: module + "internal/rbactest", Deps: []string{module + "internal/stack", module + "tui"}},
		{ImportPath: module + "internal/stack", TestImports: []string{module + "internal/testkit"}},
		{ImportPath: module + "audit", Imports: []string{module + "internal/testkit"}},
	}
	got := violations(graph)
	want := []string{
		module + "tui depends on " + module + "internal/stack",
		module + "tui depends on " + module + "devproxy",
		module + "mockidp/idptest depends on " + module + "devproxy",
		module + "adc depends on " + module + "audit",
		module + "config imports github.com/spf13/cobra",
		module + "internal/stack imports " + module + "internal/cli",
		module + "internal/rbactest depends on " + module + "tui",
		module + "audit imports outside its tests " + module + "internal/testkit",
	}
	if len(got) != len(want) {
		t.Errorf("%d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w+":") }) {
			t.Errorf("not reported: %s", w)
		}
	}
}
