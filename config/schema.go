package config

import (
	"encoding/json"
	"reflect"

	"github.com/invopop/jsonschema"
)

// SchemaID is the $id of the generated schema, also written by `authdev init`
// in the yaml-language-server comment.
const SchemaID = "https://raw.githubusercontent.com/authdev/authdev/main/authdev.schema.json"

// JSONSchema returns the JSON Schema of authdev.yaml, generated from the Go
// types so that it cannot drift from what Load accepts.
func JSONSchema() ([]byte, error) {
	r := schemaReflector()
	s := r.Reflect(&Config{})
	s.ID = SchemaID
	s.Title = "authdev.yaml"
	return json.MarshalIndent(s, "", "  ")
}

func schemaReflector() *jsonschema.Reflector {
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		DoNotReference:             true,
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
	}
	inner := &jsonschema.Reflector{FieldNameTag: "yaml", DoNotReference: true, RequiredFromJSONSchemaTags: true, ExpandedStruct: true}
	keyed := func(t reflect.Type) *jsonschema.Schema {
		inner.Mapper = r.Mapper
		return &jsonschema.Schema{Type: "object", AdditionalProperties: inner.ReflectFromType(t)}
	}
	r.Mapper = func(t reflect.Type) *jsonschema.Schema {
		switch t {
		case durationType:
			return &jsonschema.Schema{Type: "string", Pattern: `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, Description: `A duration such as "30s", "5m" or "1h30m"`}
		case exprType:
			return &jsonschema.Schema{Type: "string", Description: "A NetScaler advanced policy expression"}
		case expectType:
			one := &jsonschema.Schema{OneOf: []*jsonschema.Schema{
				{Type: "string", Enum: []any{"allow", "deny"}},
				{Type: "integer", Minimum: "100", Maximum: "599"},
			}}
			return &jsonschema.Schema{OneOf: []*jsonschema.Schema{one, {Type: "object", AdditionalProperties: one, Description: "environment -> expectation"}},
				Description: `"allow" (2xx/3xx from the upstream), "deny" (401/403) or a status code; or a map from environment to one of those`}
		case reflect.TypeFor[Personas]():
			return keyed(reflect.TypeFor[Persona]())
		case reflect.TypeFor[Environments]():
			return keyed(reflect.TypeFor[Environment]())
		case reflect.TypeFor[Headers]():
			return &jsonschema.Schema{Type: "object", AdditionalProperties: &jsonschema.Schema{Type: "string"},
				Description: "Header name -> NetScaler string expression"}
		}
		return nil
	}
	return r
}
