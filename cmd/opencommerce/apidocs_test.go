package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenAPIAndAPIDocsCommands: `openapi` prints the served document (what
// make lint lints); `gen-api-docs -check` says whether the reference is
// current, and writes it without -check.
func TestOpenAPIAndAPIDocsCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"openapi"}, nil, &out, &errb); code != 0 {
		t.Fatalf("openapi: exit %d: %s", code, errb.String())
	}
	var doc struct {
		OpenAPI string           `json:"openapi"`
		Servers []map[string]any `json:"servers"`
		Paths   map[string]any   `json:"paths"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || doc.OpenAPI != "3.1.0" || len(doc.Servers) == 0 ||
		doc.Paths["/api/v1/docs"] == nil {
		t.Fatalf("openapi printed %.200q (%v)", out.String(), err)
	}

	file := filepath.Join(t.TempDir(), "API.md")
	out.Reset()
	if code := run([]string{"gen-api-docs", "-out", file, "-check"}, nil, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "stale") {
		t.Fatalf("check of a missing file: exit %d: %s", code, errb.String())
	}
	if code := run([]string{"gen-api-docs", "-out", file}, nil, &out, &errb); code != 0 {
		t.Fatalf("gen-api-docs: exit %d: %s", code, errb.String())
	}
	if code := run([]string{"gen-api-docs", "-out", file, "-check"}, nil, &out, &errb); code != 0 {
		t.Fatalf("check after writing: exit %d: %s", code, errb.String())
	}
	md, _ := os.ReadFile(file)
	if !bytes.Contains(md, []byte("`POST /api/v1/auth/login`")) {
		t.Errorf("the reference lacks the login operation")
	}
}
