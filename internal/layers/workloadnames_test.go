package layers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/workloads"
)

// workloadFree lists the code that drives every workload alike: the harness,
// the worker loop the workloads share, and the campaign files. A workload
// is added in its own file, its checker and one entry of workloads.All,
// and says what it needs through the optional interfaces of workloads
// (docs/extending.md, "Adding a workload"), so none of these names one.
var workloadFree = []string{"harness", "workloads/driver.go", "campaign"}

// howTo is what a failure of TestNoWorkloadNamedOutsideItsFile advises.
const howTo = "let the workload declare what it needs (an optional interface of workloads, docs/extending.md \"Adding a workload\"); the default workload is plan.Default's"

// A workload's name never appears in the code that drives every workload:
// no string literal equal to a registered workload's name (or starting
// with it and a dot, as its options do), and no reference to a built-in
// workload's type or to what its file declares under the type's name
// (workloads.Contention, workloads.ContentionScaling).
func TestNoWorkloadNamedOutsideItsFile(t *testing.T) {
	root := filepath.Join("..", "..")
	var names, types []string
	for _, w := range workloads.All() {
		names = append(names, w.Name())
		typ := reflect.TypeOf(w)
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if typ.PkgPath() == reflect.TypeOf((*workloads.Env)(nil)).Elem().PkgPath() && typ.Name() != "" {
			types = append(types, typ.Name())
		}
	}
	if len(names) == 0 || len(types) == 0 {
		t.Fatal("no registered workloads to look for")
	}
	var files []string
	for _, p := range workloadFree {
		files = append(files, goFiles(t, filepath.Join(root, p))...)
	}
	fset := token.NewFileSet()
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name, err := filepath.Rel(root, path) // "harness/run.go" in messages
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, filepath.ToSlash(name), src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		inWorkloads := f.Name.Name == "workloads"
		// The identifiers that are the Sel of a selector (sync.Mutex) are
		// another package's names, never a workload's.
		sels := map[*ast.Ident]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				sels[n.Sel] = true
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "workloads" {
					if typ, ok := namedBy(n.Sel.Name, types); ok {
						t.Errorf("%s: workloads.%s belongs to workload %s: %s", fset.Position(n.Pos()), n.Sel.Name, typ, howTo)
					}
				}
			case *ast.Ident:
				if inWorkloads && !sels[n] {
					if typ, ok := namedBy(n.Name, types); ok {
						t.Errorf("%s: %s belongs to workload %s: %s", fset.Position(n.Pos()), n.Name, typ, howTo)
					}
				}
			case *ast.BasicLit:
				if n.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(n.Value)
				if err != nil {
					return true
				}
				for _, name := range names {
					if s == name || strings.HasPrefix(s, name+".") {
						t.Errorf("%s: the string %q names workload %s: %s", fset.Position(n.Pos()), s, name, howTo)
					}
				}
			}
			return true
		})
	}
}

// namedBy returns the workload type that ident is, or starts with.
func namedBy(ident string, types []string) (string, bool) {
	for _, typ := range types {
		if strings.HasPrefix(ident, typ) {
			return typ, true
		}
	}
	return "", false
}

// goFiles returns path if it is a file, else the non-test .go files under
// the directory path.
func goFiles(t *testing.T, path string) []string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() {
		return []string{path}
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no Go files under %s", path)
	}
	return out
}
