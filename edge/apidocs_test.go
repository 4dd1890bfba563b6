package edge_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/edge"
)

// TestAPIReferenceIsCurrent fails when docs/API.md is not what the route
// table generates (run make docs), or when it leaves an operation out.
func TestAPIReferenceIsCurrent(t *testing.T) {
	t.Parallel()
	want, err := edge.APIReference(edge.Routes())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", edge.APIReferenceFile)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: generate it with make docs", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run make docs (or go run ./cmd/opencommerce gen-api-docs)", edge.APIReferenceFile)
	}
	for _, rt := range edge.Routes() {
		heading := "`" + rt.Method + " " + rt.FullPath() + "`"
		if !bytes.Contains(want, []byte(heading)) {
			t.Errorf("%s missing from the reference", heading)
		}
		if rt.Body && !bytes.Contains(want[bytes.Index(want, []byte(heading)):], []byte("```json")) {
			t.Errorf("%s: no example request", heading)
		}
	}
	if !strings.Contains(string(want), "Errors: 400 `invalid_argument`") {
		t.Error("the reference lists no error codes")
	}
}
