package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/abi"
)

// TestExportNames holds the //go:wasmexport directives in exports.go to the
// names and signatures in core/abi. It parses the source so that it runs
// natively; the host tests check the built module itself.
func TestExportNames(t *testing.T) {
	want := map[string]string{
		abi.ExportVersion:      "() uint32",
		abi.ExportAlloc:        "(uint32) uint32",
		abi.ExportFree:         "(uint32)",
		abi.ExportLoadBundle:   "(uint32, uint32) uint64",
		abi.ExportLoadVerified: "(uint32, uint32) uint64",
		abi.ExportRecommend:    "(uint32, uint32) uint64",
		abi.ExportBloom:        "(uint32, uint32) uint64",
		abi.ExportCatalog:      "(uint32, uint32) uint64",
		abi.ExportTrace:        "() uint32",
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "exports.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Doc == nil {
			continue
		}
		for _, c := range fn.Doc.List {
			name, ok := strings.CutPrefix(c.Text, "//go:wasmexport ")
			if !ok {
				continue
			}
			name = strings.TrimSpace(name)
			if _, dup := got[name]; dup {
				t.Errorf("%s exported twice", name)
			}
			got[name] = signature(fn.Type)
		}
	}
	for name, sig := range want {
		if got[name] != sig {
			t.Errorf("export %s: signature %q, want %q", name, got[name], sig)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("export %s is not named in core/abi", name)
		}
	}
	if t.Failed() {
		names := make([]string, 0, len(got))
		for n := range got {
			names = append(names, n)
		}
		sort.Strings(names)
		t.Logf("exports found: %v", names)
	}
}

// signature renders a function type as "(a, b) r" with one entry per
// parameter or result.
func signature(ft *ast.FuncType) string {
	list := func(fl *ast.FieldList) []string {
		var out []string
		if fl == nil {
			return out
		}
		for _, f := range fl.List {
			typ := typeName(f.Type)
			n := len(f.Names)
			if n == 0 {
				n = 1
			}
			for range n {
				out = append(out, typ)
			}
		}
		return out
	}
	s := "(" + strings.Join(list(ft.Params), ", ") + ")"
	if r := list(ft.Results); len(r) > 0 {
		s += " " + strings.Join(r, ", ")
	}
	return s
}

func typeName(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return "?"
}
