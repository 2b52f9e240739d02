package config

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// The committed schema is what editors read; regenerate it with
// `make schema` whenever a config type changes.
func TestCommittedSchemaMatchesTheTypes(t *testing.T) {
	want, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../authdev.schema.json")
	if err != nil {
		t.Fatalf("read the committed schema: %v (run `make schema`)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Fatal("authdev.schema.json is out of date with the config types: run `make schema` and commit it")
	}
}

// The schema and the loader must agree: what Load accepts, the schema
// accepts.
func TestDemoConfigValidatesAgainstTheSchema(t *testing.T) {
	raw, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	validate := func(name string, text []byte) error {
		var v any
		if err := yaml.Unmarshal(text, &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		return schema.Validate(inst)
	}
	if err := validate("demo", DemoYAML()); err != nil {
		t.Errorf("the demo config fails the schema: %v", err)
	}
	if err := validate("typo", []byte("proxy: {upstram: []}\npersonas: {a: {}}")); err == nil {
		t.Error("the schema accepts an unknown key")
	}
}
