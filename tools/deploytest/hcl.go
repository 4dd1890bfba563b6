package deploytest

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// hclFile is a parsed HCL native-syntax file that keeps its source, so
// expressions that cannot be evaluated without Nomad's context (var.x,
// ${NOMAD_ADDR_admin}, file(...)) can still be read as text.
type hclFile struct {
	src  []byte
	body *hclsyntax.Body
}

// parseHCL parses src without evaluating anything.
func parseHCL(path string, src []byte) (*hclFile, error) {
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: %s", path, diags.Error())
	}
	return &hclFile{src: src, body: f.Body.(*hclsyntax.Body)}, nil
}

// blocks returns the blocks of the given type directly inside b.
func blocks(b *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			out = append(out, blk)
		}
	}
	return out
}

// label returns the first label of a block, or "".
func label(b *hclsyntax.Block) string {
	if len(b.Labels) == 0 {
		return ""
	}
	return b.Labels[0]
}

// value evaluates an attribute without variables or functions; ok is false
// when the attribute is missing or needs an evaluation context.
func value(b *hclsyntax.Body, name string) (cty.Value, bool) {
	a, ok := b.Attributes[name]
	if !ok {
		return cty.NilVal, false
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return cty.NilVal, false
	}
	return v, true
}

// str returns a string attribute evaluated without context, or its source
// text when it needs one (for example "${NOMAD_ADDR_admin}").
func (f *hclFile) str(b *hclsyntax.Body, name string) (string, bool) {
	if v, ok := value(b, name); ok && v.Type() == cty.String {
		return v.AsString(), true
	}
	a, ok := b.Attributes[name]
	if !ok {
		return "", false
	}
	return string(a.Expr.Range().SliceBytes(f.src)), true
}

// boolean reports whether a boolean attribute is present and true.
func boolean(b *hclsyntax.Body, name string) bool {
	v, ok := value(b, name)
	return ok && v.Type() == cty.Bool && v.True()
}

// varDefaults returns the default of every variable block of the file, as
// the context "var.<name>" evaluates in.
func (f *hclFile) varDefaults() *hcl.EvalContext {
	vars := map[string]cty.Value{}
	for _, v := range blocks(f.body, "variable") {
		if d, ok := value(v.Body, "default"); ok {
			vars[label(v)] = d
		}
	}
	return &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(vars)}}
}

// numberOrVar returns a numeric attribute as a float64, evaluating
// var.<name> with the variable's default.
func (f *hclFile) numberOrVar(b *hclsyntax.Body, name string) (float64, bool) {
	a, ok := b.Attributes[name]
	if !ok {
		return 0, false
	}
	v, diags := a.Expr.Value(f.varDefaults())
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || v.Type() != cty.Number {
		return 0, false
	}
	n, _ := v.AsBigFloat().Float64()
	return n, true
}

// number returns a numeric attribute as a float64.
func number(b *hclsyntax.Body, name string) (float64, bool) {
	v, ok := value(b, name)
	if !ok || v.Type() != cty.Number {
		return 0, false
	}
	f, _ := v.AsBigFloat().Float64()
	return f, true
}

// strings returns the elements of a list attribute as text: literal strings
// as their value, anything else as its source text.
func (f *hclFile) strings(b *hclsyntax.Body, name string) []string {
	a, ok := b.Attributes[name]
	if !ok {
		return nil
	}
	tup, ok := a.Expr.(*hclsyntax.TupleConsExpr)
	if !ok {
		return nil
	}
	var out []string
	for _, e := range tup.Exprs {
		if v, diags := e.Value(nil); !diags.HasErrors() && v.IsWhollyKnown() && v.Type() == cty.String {
			out = append(out, v.AsString())
			continue
		}
		out = append(out, strings.Trim(string(e.Range().SliceBytes(f.src)), `"`))
	}
	return out
}

// has reports whether b sets the attribute.
func has(b *hclsyntax.Body, name string) bool {
	_, ok := b.Attributes[name]
	return ok
}

// ParseHCL reports whether src is valid HCL native syntax; the error
// names the file and position.
func ParseHCL(path string, src []byte) error {
	_, err := parseHCL(path, src)
	return err
}
