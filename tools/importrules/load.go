package importrules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Load lists the packages of the module in dir (`go list -json ./...`,
// tests included) with their direct imports of the module.
func Load(dir string) ([]Package, error) {
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports,Error", "./...")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list in %s: %v: %s", dir, err, stderr.String())
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
			Error                              *struct{ Err string }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		path, ok := relative(p.ImportPath)
		if !ok {
			continue
		}
		pkg := Package{Path: path, Imports: own(p.Imports)}
		for _, imp := range own(append(p.TestImports, p.XTestImports...)) {
			if imp != path { // the external test package imports its package
				pkg.TestImports = append(pkg.TestImports, imp)
			}
		}
		pkgs = append(pkgs, pkg)
	}
	return pkgs, nil
}

// relative returns an import path inside the module relative to it.
func relative(importPath string) (string, bool) {
	rest, ok := strings.CutPrefix(importPath, Module+"/")
	return rest, ok
}

// own keeps the module's imports, module-relative.
func own(imports []string) []string {
	var out []string
	for _, imp := range imports {
		if r, ok := relative(imp); ok {
			out = append(out, r)
		}
	}
	return out
}
