package product_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOnlyTheAdapterSpeaksSQL: the domain depends on the store interfaces
// it declares (store.go: catalogStore, inventoryStore, searchStore); only
// the PostgreSQL adapter files and the wiring that hands them a pool
// import the database packages. See "Layout" in the package doc.
func TestOnlyTheAdapterSpeaksSQL(t *testing.T) {
	allowed := map[string]string{
		"pgcatalog.go":   "adapter",
		"pginventory.go": "adapter",
		"pgreviews.go":   "adapter",
		"pgsearch.go":    "adapter",
		"pgseed.go":      "adapter",
		"pgsocial.go":    "adapter",
		"service.go":     "wiring",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		if _, ok := allowed[name]; ok {
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
				t.Errorf("%s imports %s: SQL belongs in an adapter file (pg*.go), behind the store interfaces of store.go", name, path)
			}
		}
	}
	for name := range allowed {
		if _, err := os.Stat(name); err != nil {
			t.Errorf("%s is listed as allowed to import the database packages but is gone: update the list", name)
		}
	}
	if checked == 0 {
		t.Fatal("no domain file checked")
	}
}
