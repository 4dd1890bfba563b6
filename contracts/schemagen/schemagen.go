// Package schemagen writes a JSON Schema file (draft 2020-12) for every
// contract type registered with contracts.Register, and checks that the
// files on disk are current.
package schemagen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/opencommerce/opencommerce/contracts"
)

// Generate returns the schema files by file name.
func Generate() (map[string][]byte, error) {
	names, types := contracts.Registered()
	out := make(map[string][]byte, len(names))
	for _, n := range names {
		r := &jsonschema.Reflector{
			DoNotReference:            false,
			ExpandedStruct:            true,
			AllowAdditionalProperties: false,
		}
		s := r.Reflect(types[n])
		s.ID = jsonschema.ID("https://opencommerce.dev/schema/" + n + ".json")
		s.Title = n
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", n, err)
		}
		out[n+".json"] = append(b, '\n')
	}
	return out, nil
}

// Write writes every schema into dir and removes stale .json files there.
func Write(dir string) error {
	files, err := Generate()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, p := range old {
		if _, keep := files[filepath.Base(p)]; !keep {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Check reports every file in dir that differs from what Generate makes,
// is missing, or should not be there.
func Check(dir string) error {
	files, err := Generate()
	if err != nil {
		return err
	}
	var problems []string
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case err != nil:
			problems = append(problems, "missing "+name)
		case !bytes.Equal(got, want):
			problems = append(problems, "stale "+name)
		}
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, p := range old {
		if _, ok := files[filepath.Base(p)]; !ok {
			problems = append(problems, "unexpected "+filepath.Base(p))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("contracts/schema is not current (run `make schemas`): %s", strings.Join(problems, ", "))
	}
	return nil
}
