package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"gopkg.in/yaml.v3"
)

// fencedBlock is a fenced code block of a document and where it starts.
type fencedBlock struct {
	where string // file:line
	line  int
	text  string
}

// fencedBlocks returns the ```lang blocks of the document at path.
func fencedBlocks(t *testing.T, path, lang string) []fencedBlock {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fence := regexp.MustCompile("(?ms)^```" + regexp.QuoteMeta(lang) + "\n(.*?)^```")
	var blocks []fencedBlock
	for _, m := range fence.FindAllSubmatchIndex(b, -1) {
		line := 1 + bytes.Count(b[:m[0]], []byte("\n"))
		blocks = append(blocks, fencedBlock{where: filepath.Base(path) + ":" + strconv.Itoa(line), line: line, text: string(b[m[2]:m[3]])})
	}
	return blocks
}

// asConfig makes a block a whole config: a block without personas is a
// part of one (a checks: list, say) and is read as that part of the
// built-in demo, which the documents' examples are written against.
func asConfig(t *testing.T, text string) []byte {
	t.Helper()
	var doc, demo yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatalf("not a YAML mapping (%v):\n%s", err, text)
	}
	block := doc.Content[0]
	for i := 0; i < len(block.Content); i += 2 {
		if block.Content[i].Value == "personas" {
			return []byte(text)
		}
	}
	demoText, err := os.ReadFile("../config/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(demoText, &demo); err != nil {
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
	return out
}

var (
	envRefRE    = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	adcConfigRE = regexp.MustCompile(`(?m)^\s*adc_config:\s*([^\s#]+)`)
)

// TestEveryYAMLBlockOfTheDocsValidates runs `authdev config validate` on
// each ```yaml block of README.md and docs/, with the ${VARIABLES} it uses
// set and the ns.conf it names present (empty), so that the documents
// cannot show a config that authdev refuses.
func TestEveryYAMLBlockOfTheDocsValidates(t *testing.T) {
	docs, _ := filepath.Glob("../docs/*.md")
	var blocks []fencedBlock
	for _, doc := range append([]string{"../README.md"}, docs...) {
		blocks = append(blocks, fencedBlocks(t, doc, "yaml")...)
	}
	if len(blocks) == 0 {
		t.Fatal("no ```yaml blocks in README.md and docs/")
	}
	for _, b := range blocks {
		t.Run(b.where, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "authdev.yaml")
			if err := os.WriteFile(p, asConfig(t, b.text), 0o644); err != nil {
				t.Fatal(err)
			}
			if m := adcConfigRE.FindStringSubmatch(b.text); m != nil {
				os.WriteFile(filepath.Join(dir, m[1]), []byte("# the ns.conf the example names\n"), 0o644)
			}
			env := []string{"HOME=" + dir}
			for _, m := range envRefRE.FindAllStringSubmatch(b.text, -1) {
				env = append(env, m[1]+"=value-of-"+m[1])
			}
			if _, stderr, code := runCmd(t, env, authdevBin, "--config", p, "config", "validate"); code != 0 {
				t.Errorf("the ```yaml block at %s does not validate (exit %d):\n%s", b.where, code, stderr)
			}
		})
	}
}
