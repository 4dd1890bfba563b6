package schemagen_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/contracts/schemagen"
)

// The generated files in contracts/schema must match the Go types.
func TestSchemasCurrent(t *testing.T) {
	if err := schemagen.Check(filepath.Join("..", "schema")); err != nil {
		t.Fatal(err)
	}
}

// Every generated schema compiles, and the wire examples validate (or are
// refused) as a client would expect.
func TestSchemasValidate(t *testing.T) {
	files, err := schemagen.Generate()
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	for name, b := range files {
		doc, err := jsonschema.UnmarshalJSON(bytesReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.AddResource(name, doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	errSchema, err := c.Compile("rpc.error.json")
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(contracts.ErrorBody{Error: contracts.NotFound("product")})
	var v any
	_ = json.Unmarshal(good, &v)
	if err := errSchema.Validate(v); err != nil {
		t.Fatalf("a real error body does not validate: %v", err)
	}
	var bad any
	_ = json.Unmarshal([]byte(`{"error":{"code":"not_found","message":"x","extra":1}}`), &bad)
	if errSchema.Validate(bad) == nil {
		t.Fatal("unknown member accepted by the error schema")
	}
}

func TestWriteThenCheck(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gone.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if schemagen.Check(dir) == nil {
		t.Fatal("check passed on an empty directory")
	}
	if err := schemagen.Write(dir); err != nil {
		t.Fatal(err)
	}
	if err := schemagen.Check(dir); err != nil {
		t.Fatal(err)
	}
}
