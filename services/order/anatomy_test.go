package order_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOnlyTheAdapterSpeaksSQL: the domain depends on the store interface
// it declares (store.go); only the PostgreSQL adapter (postgres.go)
// imports the database packages. See "Anatomy" in the package doc.
func TestOnlyTheAdapterSpeaksSQL(t *testing.T) {
	adapter := map[string]bool{"postgres.go": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || adapter[name] {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/jackc/pgx") || path == "github.com/opencommerce/opencommerce/internal/pg" {
				t.Errorf("%s imports %s: SQL belongs in the adapter (postgres.go), behind the store interface", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no domain file checked")
	}
}
