package campaign

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/workloads"
)

// inherit records where a cell's settings came from, and leaves out of its
// plan the options it inherits that none of its parts reads: an option of
// the defaults or of a matrix entry is meant for the cells whose target,
// workload or nemeses read it. own are the settings of the cell itself
// (matrix == 0) or of its matrix entry (matrix == i+1 for the i-th
// entry); a cell's own options all stay, for Resolve to refuse one that
// the cell does not read.
func (f *File) inherit(c *Cell, own Settings, matrix int) {
	c.matrix = matrix
	c.judgeInDefaults = own.Judge == nil && f.Defaults.Judge != nil
	for _, s := range harness.UnreadOptions(c.Plan) {
		if _, mine := own.Options[s.Name]; matrix > 0 || !mine {
			delete(c.Plan.Options, s.Name)
		}
	}
}

// checkLevels checks what the defaults and the matrix entries set for
// their cells, at their own lines: the options (names and values) and the
// defaults' judge (a checker that some workload runs).
func (f *File) checkLevels() error {
	owners := harness.Owners()
	if err := option.Check(owners, f.Defaults.Options); err != nil {
		return f.bad(f.defaultsLine, "defaults: options: %v", err)
	}
	for _, m := range f.Matrix {
		if err := option.Check(owners, m.Options); err != nil {
			return f.bad(m.line, "matrix: options: %v", err)
		}
	}
	valid := slices.Clone(checker.LockNames)
	for _, w := range workloads.All() {
		for _, j := range w.Judges() {
			if !slices.Contains(valid, j) {
				valid = append(valid, j)
			}
		}
	}
	for _, j := range f.Defaults.Judge {
		if !slices.Contains(valid, j) {
			return f.bad(f.defaultsLine, "defaults: judge: %q is not a checker that any workload runs (valid: %s)", j, strings.Join(valid, ", "))
		}
	}
	return nil
}

// checkRead refuses an option of the defaults or of a matrix entry that
// no cell under it reads: it would have no effect anywhere.
func (f *File) checkRead(cells []Cell) error {
	read := func(name string, matrix int) bool {
		return slices.ContainsFunc(cells, func(c Cell) bool {
			_, ok := c.Plan.Options[name]
			return ok && (matrix == 0 || c.matrix == matrix)
		})
	}
	for _, name := range sortedKeys(f.Defaults.Options) {
		if !read(name, 0) {
			return f.bad(f.defaultsLine, "defaults: options: %s: an option of %s, which no cell uses", name, belongs(name))
		}
	}
	for i, m := range f.Matrix {
		for _, name := range sortedKeys(m.Options) {
			if !read(name, i+1) {
				return f.bad(m.line, "matrix: options: %s: an option of %s, which no cell of this matrix entry uses", name, belongs(name))
			}
		}
	}
	return nil
}

// belongs names the owners that declare the option name.
func belongs(name string) string {
	s := option.Unread(harness.Owners(), func(option.Owner) bool { return false }, option.Values{name: ""})
	if len(s) == 0 {
		return "nothing"
	}
	return s[0].Belongs()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// bad is an error about the file at line.
func (f *File) bad(line int, format string, args ...any) error {
	return fmt.Errorf("%w: %s:%d: %s", ErrBadFile, f.source, line, fmt.Sprintf(format, args...))
}
