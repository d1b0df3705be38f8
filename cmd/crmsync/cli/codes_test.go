package cli_test

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"crmsync/cmd/crmsync/cli"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
)

var update = flag.Bool("update", false, "rewrite the README's reject code reference from the code")

const (
	codesStart = "<!-- codes:start -->"
	codesEnd   = "<!-- codes:end -->"
)

// TestReadmeCodesReference holds the README's table of reject codes to the
// reference the code registers; -update rewrites it.
func TestReadmeCodesReference(t *testing.T) {
	path := filepath.Join("..", "..", "..", "README.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start, end := strings.Index(text, codesStart), strings.Index(text, codesEnd)
	if start < 0 || end < start {
		t.Fatalf("README.md lacks the markers %s and %s around the reject code reference", codesStart, codesEnd)
	}
	want := codesStart + "\n" + cli.CodesMarkdown() + codesEnd
	got := text[start : end+len(codesEnd)]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(text[:start]+want+text[end+len(codesEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the README's reject code reference is stale: run go test ./cmd/crmsync/cli -run TestReadmeCodesReference -update")
}

// TestCodesCommand: the list holds every code, one code is explained in
// full, and an unknown one is a usage error that suggests the closest.
func TestCodesCommand(t *testing.T) {
	r := runBinary(t, "", "codes")
	if r.code != cli.ExitOK {
		t.Fatalf("codes: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != len(pipeline.Codes())+1 || !strings.HasPrefix(lines[0], "CODE") {
		t.Fatalf("codes printed %d lines for %d codes:\n%s", len(lines), len(pipeline.Codes()), r.stdout)
	}
	for i, c := range pipeline.Codes() {
		if f := strings.Fields(lines[i+1]); len(f) < 3 || f[0] != c.Name || f[1] != string(c.Stage) || !strings.Contains(lines[i+1], c.Fix) {
			t.Errorf("line %d is %q, want code %s at stage %s with its fix", i+1, lines[i+1], c.Name, c.Stage)
		}
	}

	r = runBinary(t, "", "codes", "email_owned")
	c := pipeline.LookupCode("email_owned")
	if r.code != cli.ExitOK || len(c) != 1 || !strings.Contains(r.stdout, c[0].Meaning) || !strings.Contains(r.stdout, c[0].Fix) {
		t.Errorf("codes email_owned: exit %d, stdout:\n%s", r.code, r.stdout)
	}
	r = runBinary(t, "", "codes", "field_count")
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "(stage read)") || !strings.Contains(r.stdout, "(stage map)") {
		t.Errorf("codes field_count should explain both stages: exit %d, stdout:\n%s", r.code, r.stdout)
	}

	r = runBinary(t, "", "codes", "emial_owned")
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, `did you mean "email_owned"?`) || r.stdout != "" {
		t.Errorf("codes emial_owned: exit %d, stderr %q", r.code, r.stderr)
	}

	r = runBinary(t, "", "codes", "--help")
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "crmsync codes email_owned") || !strings.Contains(r.stdout, "EXIT STATUS") {
		t.Errorf("codes --help lacks an example or the exit codes:\n%s", r.stdout)
	}
}

// TestMatchCodesRegistered: the codes named after a sink's match field
// (duplicate_email, email_owned) are in the reference, which the scan of
// TestEmittedCodesAreRegistered cannot tell from the code.
func TestMatchCodesRegistered(t *testing.T) {
	mf := tamio.Schema().MatchField
	for _, name := range []string{pipeline.DuplicateCode(mf), pipeline.OwnedCode(mf)} {
		if len(pipeline.LookupCode(name)) == 0 {
			t.Errorf("code %q is emitted by the tamio sink but missing from the reference", name)
		}
	}
}

// TestEmittedCodesAreRegistered reads every Go file of the module (tests
// aside) and follows each value that can become a Reject's code back to
// where it is written: a string literal or a Code… constant, which must be
// in the reference. A code it cannot follow fails the test too, so that a
// code cannot reach a reject file without an entry.
func TestEmittedCodesAreRegistered(t *testing.T) {
	sc := scanModule(t, filepath.Join("..", "..", ".."))
	for key, v := range sc.consts {
		if strings.HasPrefix(key[strings.IndexByte(key, '.')+1:], "Code") && len(pipeline.LookupCode(v)) == 0 {
			t.Errorf("constant %s = %q is not in the codes reference (pipeline.RegisterCodes)", key, v)
		}
	}
	for _, p := range sc.pkgs {
		for _, f := range p.files {
			ast.Inspect(f, func(n ast.Node) bool {
				fd, ok := n.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					return true
				}
				for _, site := range codeSites(fd) {
					sc.check(t, p, fd, site, 0)
				}
				return false
			})
		}
	}
	t.Logf("followed %d reject code values", sc.checked)
	if sc.checked < 30 {
		t.Fatalf("the scan checked only %d code values; it no longer finds where rejects are built", sc.checked)
	}
}

type scanPkg struct {
	name  string
	files []*ast.File
}

type codeScan struct {
	fset    *token.FileSet
	pkgs    map[string]*scanPkg // by directory
	consts  map[string]string   // "pkg.Name" → value, string constants only
	checked int
}

func scanModule(t *testing.T, root string) *codeScan {
	sc := &codeScan{fset: token.NewFileSet(), pkgs: map[string]*scanPkg{}, consts: map[string]string{}}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (n == "testdata" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(sc.fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		p := sc.pkgs[dir]
		if p == nil {
			p = &scanPkg{name: f.Name.Name}
			sc.pkgs[dir] = p
		}
		p.files = append(p.files, f)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i]); ok {
							sc.consts[f.Name.Name+"."+name.Name] = s
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func stringLit(e ast.Expr) (string, bool) {
	if bl, ok := e.(*ast.BasicLit); ok && bl.Kind == token.STRING {
		s, err := strconv.Unquote(bl.Value)
		return s, err == nil
	}
	return "", false
}

// isReject tells whether a type expression is pipeline.Reject or a
// pointer to it.
func isReject(e ast.Expr) bool {
	if st, ok := e.(*ast.StarExpr); ok {
		e = st.X
	}
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name == "Reject"
	case *ast.SelectorExpr:
		return x.Sel.Name == "Reject"
	}
	return false
}

// codeSites returns the values a function gives a Reject's Code: the Code
// of a Reject literal, and what it assigns to the Code of a variable
// holding a Reject.
func codeSites(fd *ast.FuncDecl) []ast.Expr {
	rejects := map[string]bool{} // variables that hold a Reject
	fields := func(fl *ast.FieldList) {
		if fl == nil {
			return
		}
		for _, f := range fl.List {
			if isReject(f.Type) {
				for _, n := range f.Names {
					rejects[n.Name] = true
				}
			}
		}
	}
	fields(fd.Type.Params)
	fields(fd.Type.Results)
	var sites []ast.Expr
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CompositeLit:
			if isReject(x.Type) {
				for _, el := range x.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Code" {
							sites = append(sites, kv.Value)
						}
					}
				}
			}
		case *ast.ValueSpec:
			if x.Type != nil && isReject(x.Type) {
				for _, nm := range x.Names {
					rejects[nm.Name] = true
				}
			}
		case *ast.AssignStmt:
			for i, l := range x.Lhs {
				id, ok := l.(*ast.Ident)
				if !ok || i >= len(x.Rhs) || len(x.Lhs) != len(x.Rhs) {
					continue
				}
				r := x.Rhs[i]
				if u, ok := r.(*ast.UnaryExpr); ok && u.Op == token.AND {
					r = u.X
				}
				if cl, ok := r.(*ast.CompositeLit); ok && isReject(cl.Type) {
					rejects[id.Name] = true
				}
			}
		}
		return true
	})
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != len(as.Rhs) {
			return true
		}
		for i, l := range as.Lhs {
			if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Code" {
				if id, ok := sel.X.(*ast.Ident); ok && rejects[id.Name] {
					sites = append(sites, as.Rhs[i])
				}
			}
		}
		return true
	})
	return sites
}

func (sc *codeScan) where(n ast.Node) string {
	return sc.fset.Position(n.Pos()).String()
}

// check follows the code value e, written in fd of package p, to the
// literals and constants it comes from.
func (sc *codeScan) check(t *testing.T, p *scanPkg, fd *ast.FuncDecl, e ast.Expr, depth int) {
	t.Helper()
	if depth > 8 {
		t.Errorf("%s: cannot follow this reject code to a constant", sc.where(e))
		return
	}
	registered := func(v string) {
		sc.checked++
		if len(pipeline.LookupCode(v)) == 0 {
			t.Errorf("%s: reject code %q is emitted but missing from the codes reference (pipeline.RegisterCodes)", sc.where(e), v)
		}
	}
	if s, ok := stringLit(e); ok {
		registered(s)
		return
	}
	switch x := e.(type) {
	case *ast.ParenExpr:
		sc.check(t, p, fd, x.X, depth+1)
		return
	case *ast.SelectorExpr:
		if pkg, ok := x.X.(*ast.Ident); ok {
			if v, ok := sc.consts[pkg.Name+"."+x.Sel.Name]; ok {
				registered(v)
				return
			}
		}
		// A struct field: every value written to a field of that name in
		// the package is a code site.
		sc.checkField(t, p, x.Sel.Name, depth)
		return
	case *ast.Ident:
		if v, ok := sc.consts[p.name+"."+x.Name]; ok {
			registered(v)
			return
		}
		if i := paramIndex(fd, x.Name); i >= 0 {
			sc.checkCalls(t, p, fd, i, depth)
			return
		}
		if vals := localValues(fd, x.Name); len(vals) > 0 {
			for _, v := range vals {
				sc.check(t, p, fd, v, depth+1)
			}
			return
		}
	case *ast.CallExpr:
		name := ""
		switch f := x.Fun.(type) {
		case *ast.Ident:
			name = f.Name
		case *ast.SelectorExpr:
			name = f.Sel.Name
		}
		switch {
		case name == "DuplicateCode" || name == "OwnedCode":
			// Named after the sink's match field: TestMatchCodesRegistered.
			sc.checked++
			return
		case name == "KnownCode" && len(x.Args) == 3:
			// Lets only registered names through, or its fallback.
			sc.check(t, p, fd, x.Args[2], depth+1)
			return
		}
	}
	t.Errorf("%s: cannot follow reject code %s to a registered constant; emit a Code… constant that pipeline.RegisterCodes explains", sc.where(e), types.ExprString(e))
}

func paramIndex(fd *ast.FuncDecl, name string) int {
	i := 0
	for _, f := range fd.Type.Params.List {
		if len(f.Names) == 0 {
			i++
		}
		for _, n := range f.Names {
			if n.Name == name {
				return i
			}
			i++
		}
	}
	return -1
}

// localValues returns what fd assigns to the local variable name.
func localValues(fd *ast.FuncDecl, name string) []ast.Expr {
	var vals []ast.Expr
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.AssignStmt:
			if len(x.Lhs) == len(x.Rhs) {
				for i, l := range x.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name == name {
						vals = append(vals, x.Rhs[i])
					}
				}
			}
		case *ast.ValueSpec:
			for i, id := range x.Names {
				if id.Name == name && i < len(x.Values) {
					vals = append(vals, x.Values[i])
				}
			}
		}
		return true
	})
	return vals
}

// checkCalls checks argument i of every call in p of the function fn. A
// method whose name another function of p shares (Field.reject and
// Run.reject) is told from it by the receiver's name, the one thing the
// syntax gives without type checking.
func (sc *codeScan) checkCalls(t *testing.T, p *scanPkg, fn *ast.FuncDecl, i, depth int) {
	t.Helper()
	shared := false
	for _, f := range p.files {
		for _, decl := range f.Decls {
			if o, ok := decl.(*ast.FuncDecl); ok && o != fn && o.Name.Name == fn.Name.Name {
				shared = true
			}
		}
	}
	recv := ""
	if fn.Recv != nil && len(fn.Recv.List) == 1 && len(fn.Recv.List[0].Names) == 1 {
		recv = fn.Recv.List[0].Names[0].Name
	}
	for _, f := range p.files {
		for _, decl := range f.Decls {
			caller, ok := decl.(*ast.FuncDecl)
			if !ok || caller.Body == nil {
				continue
			}
			ast.Inspect(caller.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || i >= len(call.Args) {
					return true
				}
				switch f := call.Fun.(type) {
				case *ast.Ident:
					if fn.Recv != nil || f.Name != fn.Name.Name {
						return true
					}
				case *ast.SelectorExpr:
					x, ok := f.X.(*ast.Ident)
					if fn.Recv == nil || f.Sel.Name != fn.Name.Name || shared && (!ok || x.Name != recv) {
						return true
					}
				default:
					return true
				}
				sc.check(t, p, caller, call.Args[i], depth+1)
				return true
			})
		}
	}
}

// checkField checks every value p writes to a struct field called field,
// in a literal or by assignment.
func (sc *codeScan) checkField(t *testing.T, p *scanPkg, field string, depth int) {
	t.Helper()
	for _, f := range p.files {
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CompositeLit:
					for _, el := range x.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if k, ok := kv.Key.(*ast.Ident); ok && k.Name == field {
								sc.check(t, p, fd, kv.Value, depth+1)
							}
						}
					}
				case *ast.AssignStmt:
					if len(x.Lhs) == len(x.Rhs) {
						for i, l := range x.Lhs {
							if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == field {
								sc.check(t, p, fd, x.Rhs[i], depth+1)
							}
						}
					}
				}
				return true
			})
		}
	}
}
