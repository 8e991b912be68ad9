package layers

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The Docker tests' fixtures live in one package, internal/testdocker: the
// one check for an engine (skip without one, fail in CI), the one
// dockertest pool, the one connection. These tests keep it that way.

const (
	module     = "github.com/lockstorm/lockstorm"
	testdocker = module + "/internal/testdocker"
)

// isTestHelper says whether the package at import path p is a test
// helper package: internal/testdocker, or one whose name ends in "test"
// (reports/reporttest), like net/http/httptest.
func isTestHelper(p string) bool {
	return p == testdocker || strings.HasSuffix(path.Base(p), "test")
}

// A test helper package may import testing, so only tests and other test
// helpers may import it.
func TestOnlyTestsImportTheTestHelperPackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output() // stdout: go list warns on stderr (a store/latest symlink in the tree)
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := false
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		seen = seen || f[0] == testdocker
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, module+"/") && isTestHelper(imp) && !isTestHelper(f[0]) {
				t.Errorf("%s imports the test helper package %s outside its tests", f[0], imp)
			}
		}
	}
	if !seen {
		t.Fatalf("go list does not list %s", testdocker)
	}
}

// Only internal/testdocker decides whether the engine is there, makes a
// dockertest pool, or connects to the engine of the environment; every
// other test goes through it. (This package, which names what it looks
// for, is not searched.)
func TestOnlyTheFixturePackageSkipsOrConnectsForDockerTests(t *testing.T) {
	root := moduleRoot(t)
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "testdata" || rel == "internal/testdocker" || rel == "internal/layers") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || !strings.HasSuffix(rel, "_test.go") && !strings.HasSuffix(path.Dir(rel), "test") {
			return nil
		}
		found = append(found, handWrittenFixtures(t, p, nil, rel)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Error(f)
	}
}

// The check above would pass on files it cannot read: it must find what
// it looks for in the fixture package itself, and in a test that does all
// of it by hand.
func TestTheFixtureCheckFindsHandWrittenFixtures(t *testing.T) {
	p := filepath.Join(moduleRoot(t), "internal", "testdocker", "need.go")
	found := strings.Join(handWrittenFixtures(t, p, nil, "internal/testdocker/need.go"), "\n")
	for _, want := range []string{"makes a dockertest pool", "skips a Docker test in -short mode"} {
		if !strings.Contains(found, want) {
			t.Errorf("the check does not see that need.go %s; it found:\n%s", want, found)
		}
	}
	const byHand = `package x_test

import (
	"os"
	"testing"

	dockerclient "github.com/docker/docker/client"
	"github.com/lockstorm/lockstorm/runtime/docker"
	"github.com/ory/dockertest/v3"
)

func TestDockerSomething(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	if _, err := os.Stat("/var/run/docker.sock"); err != nil {
		t.Skip("no socket")
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI must have Docker")
	}
	dockertest.NewPool("")
	docker.New(nil, nil)
	dockerclient.NewClientWithOpts(dockerclient.FromEnv)
}

func TestSomethingElse(t *testing.T) {
	if testing.Short() {
		t.Skip("needs docker")
	}
	if testing.Short() {
		t.Skip("renders a big page") // not a Docker test: no finding
	}
}
`
	got := handWrittenFixtures(t, "x_test.go", byHand, "x/x_test.go")
	want := []string{
		"x/x_test.go:13 skips a Docker test in -short mode: use internal/testdocker",
		"x/x_test.go:16 looks for the Docker socket: use internal/testdocker",
		"x/x_test.go:19 reads CI: use internal/testdocker",
		"x/x_test.go:22 makes a dockertest pool: use internal/testdocker",
		"x/x_test.go:23 connects to the engine (docker.New): use internal/testdocker",
		"x/x_test.go:24 connects to the engine of the environment: use internal/testdocker",
		"x/x_test.go:28 skips a Docker test in -short mode: use internal/testdocker",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// moduleRoot returns the directory of the module.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// handWrittenFixtures lists, as file:line and what, the places in the Go
// file at p (rel from the module root; its text is src unless src is nil)
// that do what only internal/testdocker should. A test helper package may
// read CI for its own purposes (reporttest's browser tests); a test may
// not.
func handWrittenFixtures(t *testing.T, p string, src any, rel string) []string {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, p, src, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", rel, err)
	}
	imports := map[string]string{} // the name a file uses → import path
	for _, im := range file.Imports {
		ip, _ := strconv.Unquote(im.Path.Value)
		name := path.Base(ip)
		if strings.HasPrefix(name, "v") && strings.Trim(name[1:], "0123456789") == "" {
			name = path.Base(path.Dir(ip)) // github.com/ory/dockertest/v3
		}
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = ip
	}
	// pkgFunc says whether call calls the function fn of the package at
	// import path ip.
	pkgFunc := func(call *ast.CallExpr, ip string, fn ...string) bool {
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		id, ok := sel.X.(*ast.Ident)
		return ok && imports[id.Name] == ip && slices.Contains(fn, sel.Sel.Name)
	}
	var found []string
	report := func(n ast.Node, what string) {
		found = append(found, fmt.Sprintf("%s:%d %s: use internal/testdocker", rel, fset.Position(n.Pos()).Line, what))
	}
	for _, decl := range file.Decls {
		fn, _ := decl.(*ast.FuncDecl)
		ast.Inspect(decl, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind == token.STRING && strings.Contains(n.Value, "/var/run/docker.sock") {
					report(n, "looks for the Docker socket")
				}
			case *ast.CallExpr:
				switch {
				case pkgFunc(n, "github.com/ory/dockertest/v3", "NewPool", "NewTLSPool"):
					report(n, "makes a dockertest pool")
				case pkgFunc(n, module+"/runtime/docker", "New"):
					report(n, "connects to the engine (docker.New)")
				case pkgFunc(n, "github.com/docker/docker/client", "NewClientWithOpts") && fromEnv(n, imports):
					report(n, "connects to the engine of the environment")
				case strings.HasSuffix(rel, "_test.go") && pkgFunc(n, "os", "Getenv", "LookupEnv") && len(n.Args) == 1 && isString(n.Args[0], "CI"):
					report(n, "reads CI")
				}
			case *ast.IfStmt:
				if callsShort(n.Cond, imports) && dockerSkip(n.Body, fn) {
					report(n, "skips a Docker test in -short mode")
				}
			}
			return true
		})
	}
	return found
}

// fromEnv says whether a call of client.NewClientWithOpts passes
// client.FromEnv.
func fromEnv(call *ast.CallExpr, imports map[string]string) bool {
	for _, a := range call.Args {
		if sel, ok := a.(*ast.SelectorExpr); ok && sel.Sel.Name == "FromEnv" {
			if id, ok := sel.X.(*ast.Ident); ok && imports[id.Name] == "github.com/docker/docker/client" {
				return true
			}
		}
	}
	return false
}

// isString says whether e is the string literal s.
func isString(e ast.Expr, s string) bool {
	lit, ok := e.(*ast.BasicLit)
	return ok && lit.Kind == token.STRING && lit.Value == strconv.Quote(s)
}

// callsShort says whether e calls testing.Short.
func callsShort(e ast.Expr, imports map[string]string) bool {
	calls := false
	ast.Inspect(e, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Short" {
			if id, ok := sel.X.(*ast.Ident); ok && imports[id.Name] == "testing" {
				calls = true
			}
		}
		return !calls
	})
	return calls
}

// dockerSkip says whether body skips a test, in a function with Docker in
// its name or with a message that names Docker.
func dockerSkip(body *ast.BlockStmt, fn *ast.FuncDecl) bool {
	skips, docker := false, fn != nil && strings.Contains(fn.Name.Name, "Docker")
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && strings.HasPrefix(sel.Sel.Name, "Skip") {
			skips = true
			for _, a := range call.Args {
				if lit, ok := a.(*ast.BasicLit); ok && strings.Contains(strings.ToLower(lit.Value), "docker") {
					docker = true
				}
			}
		}
		return true
	})
	return skips && docker
}
