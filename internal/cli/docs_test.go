package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/authdev/authdev/config"
)

// yamlBlock is a ```yaml block of a document, with where it starts.
type yamlBlock struct {
	where string
	text  string
}

var yamlFenceRE = regexp.MustCompile("(?ms)^```yaml\n(.*?)^```")

// docYAMLBlocks returns every ```yaml block of README.md and docs/*.md.
func docYAMLBlocks(t *testing.T) []yamlBlock {
	t.Helper()
	docs, _ := filepath.Glob("../../docs/*.md")
	var blocks []yamlBlock
	for _, doc := range append([]string{"../../README.md"}, docs...) {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range yamlFenceRE.FindAllSubmatchIndex(b, -1) {
			line := 1 + strings.Count(string(b[:m[0]]), "\n")
			blocks = append(blocks, yamlBlock{where: filepath.Base(doc) + ":" + strconv.Itoa(line), text: string(b[m[2]:m[3]])})
		}
	}
	if len(blocks) == 0 {
		t.Fatal("no ```yaml blocks found in README.md and docs/")
	}
	return blocks
}

// asConfig makes a block a whole config: a block without personas is a
// part of one (a checks: list, say) and is read as that part of the
// built-in demo, which the documents' examples are written against.
func asConfig(t *testing.T, text string) string {
	t.Helper()
	var doc, demo yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatal("not a YAML mapping")
	}
	block := doc.Content[0]
	for i := 0; i < len(block.Content); i += 2 {
		if block.Content[i].Value == "personas" {
			return text
		}
	}
	if err := yaml.Unmarshal(config.DemoYAML(), &demo); err != nil {
		t.Fatal(err)
	}
	base := demo.Content[0]
	for i := 0; i < len(block.Content); i += 2 {
		replaced := false
		for j := 0; j < len(base.Content); j += 2 {
			if base.Content[j].Value == block.Content[i].Value {
				base.Content[j+1], replaced = block.Content[i+1], true
			}
		}
		if !replaced {
			base.Content = append(base.Content, block.Content[i], block.Content[i+1])
		}
	}
	out, err := yaml.Marshal(&demo)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

var envRefRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// TestEveryYAMLBlockOfTheDocsValidates runs `authdev config validate` on
// each ```yaml block of README.md and docs/, with the ${VARIABLES} it uses
// set and the ns.conf it names present (empty), so that the documents
// cannot show a config that authdev refuses.
func TestEveryYAMLBlockOfTheDocsValidates(t *testing.T) {
	for _, b := range docYAMLBlocks(t) {
		t.Run(b.where, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "authdev.yaml")
			if err := os.WriteFile(p, []byte(asConfig(t, b.text)), 0o644); err != nil {
				t.Fatal(err)
			}
			if m := regexp.MustCompile(`(?m)^\s*adc_config:\s*([^\s#]+)`).FindStringSubmatch(b.text); m != nil {
				os.WriteFile(filepath.Join(dir, m[1]), []byte("# the ns.conf the example names\n"), 0o644)
			}
			env := map[string]string{}
			for _, m := range envRefRE.FindAllStringSubmatch(b.text, -1) {
				env[m[1]] = "value-of-" + m[1]
			}
			if code, _, stderr := run(t, env, "--config", p, "config", "validate"); code != 0 {
				t.Errorf("the ```yaml block at %s does not validate (exit %d):\n%s", b.where, code, stderr)
			}
		})
	}
}
