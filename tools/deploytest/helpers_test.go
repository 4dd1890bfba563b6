package deploytest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/opencommerce/opencommerce/tools/deploytest"
)

// root is the repository root; file paths in messages are relative to it.
func root(tb testing.TB) string {
	tb.Helper()
	r, err := deploytest.RepoRoot()
	if err != nil {
		tb.Fatalf("repository root: %v", err)
	}
	return r
}

// read returns the content of a file given relative to the repository root.
func read(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(root(tb), rel))
	if err != nil {
		tb.Fatalf("read %s: %v", rel, err)
	}
	return b
}

// glob lists files relative to the repository root.
func glob(tb testing.TB, pattern string) []string {
	tb.Helper()
	r := root(tb)
	m, err := filepath.Glob(filepath.Join(r, pattern))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, p := range m {
		rel, _ := filepath.Rel(r, p)
		out = append(out, filepath.ToSlash(rel))
	}
	return out
}

// noProblems fails the test with every problem found.
func noProblems(tb testing.TB, probs []string) {
	tb.Helper()
	for _, p := range probs {
		tb.Error(p)
	}
}

// wantProblem fails unless one problem contains want.
func wantProblem(tb testing.TB, probs []string, want string) {
	tb.Helper()
	for _, p := range probs {
		if strings.Contains(p, want) {
			return
		}
	}
	tb.Errorf("no problem mentions %q; got %q", want, probs)
}

// hclAt parses src and walks nested blocks: "job", "group", "service"
// take the first block of each type; "service=order" picks by first label;
// "check#1" picks the second block of that type.
func hclAt(tb testing.TB, src []byte, steps ...string) *hclsyntax.Body {
	tb.Helper()
	f, diags := hclsyntax.ParseConfig(src, "edit.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		tb.Fatalf("parse for edit: %v", diags)
	}
	b := f.Body.(*hclsyntax.Body)
	for _, step := range steps {
		typ, lbl, idx := step, "", 0
		if i := strings.Index(step, "="); i >= 0 {
			typ, lbl = step[:i], step[i+1:]
		}
		if i := strings.Index(typ, "#"); i >= 0 {
			idx = int(typ[i+1] - '0')
			typ = typ[:i]
		}
		var found *hclsyntax.Block
		n := 0
		for _, blk := range b.Blocks {
			if blk.Type != typ || (lbl != "" && (len(blk.Labels) == 0 || blk.Labels[0] != lbl)) {
				continue
			}
			if n == idx {
				found = blk
				break
			}
			n++
		}
		if found == nil {
			tb.Fatalf("edit: no block %q", step)
		}
		b = found.Body
	}
	return b
}

// splice replaces src[r.Start.Byte:r.End.Byte] with repl.
func splice(src []byte, r hcl.Range, repl string) []byte {
	out := append([]byte{}, src[:r.Start.Byte]...)
	out = append(out, repl...)
	return append(out, src[r.End.Byte:]...)
}

// removeBlocks removes every block of type typ inside the block at steps.
func removeBlocks(tb testing.TB, src []byte, typ string, steps ...string) []byte {
	tb.Helper()
	b := hclAt(tb, src, steps...)
	var found []*hclsyntax.Block
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			found = append(found, blk)
		}
	}
	if len(found) == 0 {
		tb.Fatalf("edit: no %s block to remove in %v", typ, steps)
	}
	for i := len(found) - 1; i >= 0; i-- {
		src = splice(src, found[i].Range(), "")
	}
	return src
}

// removeAttr removes the attribute name of the block at steps.
func removeAttr(tb testing.TB, src []byte, name string, steps ...string) []byte {
	tb.Helper()
	a, ok := hclAt(tb, src, steps...).Attributes[name]
	if !ok {
		tb.Fatalf("edit: no attribute %s to remove in %v", name, steps)
	}
	return splice(src, a.SrcRange, "")
}

// setAttr replaces the value of an attribute (which must exist) with the
// HCL expression expr.
func setAttr(tb testing.TB, src []byte, name, expr string, steps ...string) []byte {
	tb.Helper()
	a, ok := hclAt(tb, src, steps...).Attributes[name]
	if !ok {
		tb.Fatalf("edit: no attribute %s to set in %v", name, steps)
	}
	return splice(src, a.Expr.Range(), expr)
}
