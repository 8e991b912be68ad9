package layers

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docs/architecture.md's "Packages" table is the map of the house: a row
// per package (or per family, `targets/<service>`), what it owns and what
// it may import. These tests hold the table to `go list`: every package has
// a row, every row a package, and a package imports only what its row
// allows.

// A row is one line of the table.
type row struct {
	pkg   string   // as written: "harness", "targets/<service>"
	may   []string // the module's packages it may import, as written
	all   bool     // "all": anything
	match func(string) bool
}

// A placeholder in angle brackets (`targets/<service>`) stands for one
// path element, and matches the packages that no row of their own names.
var placeholder = regexp.MustCompile(`<[a-z-]+>`)

// packagesTable reads the table of docs/architecture.md's "## Packages".
func packagesTable(t *testing.T) []row {
	t.Helper()
	b, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n## Packages\n")
	if !ok {
		t.Fatal("docs/architecture.md has no \"## Packages\" section")
	}
	section, _, _ := strings.Cut(after, "\n## ")
	tick := regexp.MustCompile("`([^`]+)`")
	var rows []row
	for line := range strings.Lines(section) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		m := tick.FindStringSubmatch(cells[1])
		r := row{pkg: m[1]}
		may := strings.TrimSpace(cells[3])
		r.all = may == "all"
		for _, m := range tick.FindAllStringSubmatch(may, -1) {
			r.may = append(r.may, m[1])
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		t.Fatal("docs/architecture.md's Packages table has no rows")
	}
	named := map[string]bool{}
	for _, r := range rows {
		if !placeholder.MatchString(r.pkg) {
			named[r.pkg] = true
		}
	}
	for i := range rows {
		rows[i].match = pattern(rows[i].pkg, named)
	}
	return rows
}

// pattern returns the matcher of a row's package: the path itself, or for
// a placeholder any package of that shape that has no row of its own.
func pattern(p string, named map[string]bool) func(string) bool {
	if !placeholder.MatchString(p) {
		return func(q string) bool { return q == p }
	}
	re := regexp.MustCompile("^" + placeholder.ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$")
	// QuoteMeta leaves < and > alone, so the placeholder is still there.
	return func(q string) bool { return re.MatchString(q) && !named[q] }
}

// listed returns the module's packages (relative paths) and their imports
// of the module's packages, leaving out the internal ones, which the text
// under the table describes.
func listed(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output() // stdout: go list warns on stderr (a store/latest symlink in the tree)
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	rel := func(p string) (string, bool) {
		r, ok := strings.CutPrefix(p, module+"/")
		if !ok || slices.Contains(strings.Split(r, "/"), "internal") || strings.Contains(r, "/testdata/") {
			return "", false
		}
		return r, true
	}
	pkgs := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		p, ok := rel(f[0])
		if !ok {
			continue
		}
		pkgs[p] = nil
		for _, imp := range f[1:] {
			if q, ok := rel(imp); ok {
				pkgs[p] = append(pkgs[p], q)
			}
		}
	}
	return pkgs
}

func rowOf(rows []row, p string) (row, bool) {
	for _, r := range rows {
		if r.match(p) {
			return r, true
		}
	}
	return row{}, false
}

func TestArchitectureTableNamesEveryPackage(t *testing.T) {
	rows, pkgs := packagesTable(t), listed(t)
	for p := range pkgs {
		if _, ok := rowOf(rows, p); !ok {
			t.Errorf("package %s has no row in docs/architecture.md's Packages table", p)
		}
	}
	for _, r := range rows {
		found := false
		for p := range pkgs {
			found = found || r.match(p)
		}
		if !found {
			t.Errorf("docs/architecture.md's Packages table has a row for %s, which go list does not know", r.pkg)
		}
	}
}

func TestPackagesImportOnlyWhatTheArchitectureTableAllows(t *testing.T) {
	rows, pkgs := packagesTable(t), listed(t)
	for p, imports := range pkgs {
		r, ok := rowOf(rows, p)
		if !ok || r.all {
			continue
		}
		for _, imp := range imports {
			allowed := false
			for _, m := range r.may {
				allowed = allowed || pattern(m, map[string]bool{})(imp) || m == imp
			}
			if !allowed {
				t.Errorf("%s imports %s, which its row in docs/architecture.md does not allow (may import: %s)", p, imp, strings.Join(r.may, ", "))
			}
		}
	}
}
