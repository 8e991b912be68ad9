package campaign

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/store"
)

// A CellMatrix is a cell's matrix: the options it varies, in the order
// written, each with its values in the order written. The cell expands
// into one cell per combination of values (File.Expand), named after them
// (matrixName).
type CellMatrix []MatrixAxis

// A MatrixAxis is one option of a cell's matrix and the values it takes.
type MatrixAxis struct {
	Option string
	Values []string
	// Line is the line of the option's name; lines holds each value's.
	Line  int
	lines []int
}

// matrixSep joins a cell's name and each option=value of its matrix in
// the names of the cells it expands into: "etcd-pause@etcd.version=3.6.16".
const matrixSep = "@"

// notInValue are the characters a matrix value may not hold besides
// spaces and control characters: the value becomes part of a cell name,
// which --cells matches with comma-separated shell patterns, and matrixSep
// and "=" keep the name readable as option=value pairs.
const notInValue = `,*?[]\@=`

// UnmarshalYAML reads {option: [value, ...], ...}, keeping the order of
// the options and of the values, and refuses what cannot expand into
// cells: no option, an option named twice, a value list that is not a
// list or is empty, a value that is not a plain word, a value listed twice.
func (m *CellMatrix) UnmarshalYAML(n *yaml.Node) error {
	n = unalias(n)
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return fmt.Errorf("line %d: matrix: want options with lists of values, e.g. {redis.persistence: [none, aof]}", n.Line)
	}
	var out CellMatrix
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := unalias(n.Content[i]), unalias(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			return fmt.Errorf("line %d: matrix: an option's name must be a word such as redis.persistence", k.Line)
		}
		if j := slices.IndexFunc(out, func(a MatrixAxis) bool { return a.Option == k.Value }); j >= 0 {
			return fmt.Errorf("line %d: matrix: %s is listed twice (first at line %d)", k.Line, k.Value, out[j].Line)
		}
		if v.Kind != yaml.SequenceNode {
			return fmt.Errorf("line %d: matrix: %s: want a list of values, e.g. [a, b]", v.Line, k.Value)
		}
		if len(v.Content) == 0 {
			return fmt.Errorf("line %d: matrix: %s: the list of values is empty", v.Line, k.Value)
		}
		a := MatrixAxis{Option: k.Value, Line: k.Line}
		for _, item := range v.Content {
			item = unalias(item)
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: matrix: %s: a value must be a single word, not a list or a mapping", item.Line, k.Value)
			}
			if err := checkMatrixValue(item.Value); err != nil {
				return fmt.Errorf("line %d: matrix: %s: %v", item.Line, k.Value, err)
			}
			if j := slices.Index(a.Values, item.Value); j >= 0 {
				return fmt.Errorf("line %d: matrix: %s: %q is listed twice (first at line %d)", item.Line, k.Value, item.Value, a.lines[j])
			}
			a.Values = append(a.Values, item.Value)
			a.lines = append(a.lines, item.Line)
		}
		out = append(out, a)
	}
	*m = out
	return nil
}

// checkMatrixValue refuses a value that cannot be part of a cell name.
func checkMatrixValue(v string) error {
	if v == "" {
		return fmt.Errorf("an empty value names no cell")
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(notInValue, r) {
			return fmt.Errorf("%q: a value becomes part of the cell's name, so it may not hold spaces or any of %s", v, notInValue)
		}
	}
	return nil
}

func unalias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// size is the number of cells the matrix expands into (1 with no matrix),
// at most math.MaxInt.
func (m CellMatrix) size() int {
	n := 1
	for _, a := range m {
		n = mulCapped(n, len(a.Values))
	}
	return n
}

// A matrixPoint is one combination of a matrix's values, with the lines
// of each option and value for errors.
type matrixPoint struct {
	values []store.MatrixValue
	lines  []matrixLine
}

type matrixLine struct{ option, value int }

// points lists every combination of the matrix's values: the first option
// varies slowest, each option's values in the order written. With no
// matrix it is one empty point, for the cell itself.
func (m CellMatrix) points() []matrixPoint {
	out := []matrixPoint{{}}
	for _, a := range m {
		var next []matrixPoint
		for _, p := range out {
			for j, v := range a.Values {
				next = append(next, matrixPoint{
					values: append(slices.Clone(p.values), store.MatrixValue{Option: a.Option, Value: v}),
					lines:  append(slices.Clone(p.lines), matrixLine{a.Line, a.lines[j]}),
				})
			}
		}
		out = next
	}
	return out
}

// matrixName is the name of the cell of base at the values:
// "base@a=1@b=2".
func matrixName(base string, values []store.MatrixValue) string {
	var b strings.Builder
	b.WriteString(base)
	for _, v := range values {
		b.WriteString(matrixSep + v.Option + "=" + v.Value)
	}
	return b.String()
}

// withValues returns the options with the point's values set, in a new
// map.
func withValues(opts map[string]string, p matrixPoint) map[string]string {
	out := make(map[string]string, len(opts)+len(p.values))
	for k, v := range opts {
		out[k] = v
	}
	for _, v := range p.values {
		out[v.Option] = v.Value
	}
	return out
}

// checkCellMatrices refuses a matrix option that the cell also sets in its
// options: the cell would not say which value runs.
func (f *File) checkCellMatrices() error {
	for _, c := range f.Cells {
		for _, a := range c.Matrix {
			if _, ok := c.Options[a.Option]; ok {
				return f.bad(a.Line, "matrix: %s is also set in the cell's options; set it in one place", a.Option)
			}
		}
	}
	return nil
}

// checkMatrix checks the values a cell's matrix set in one expanded cell,
// at their lines: an option that exists, a value it accepts, and an option
// the cell reads.
func (f *File) checkMatrix(c Cell) error {
	if c.MatrixOf == nil {
		return nil
	}
	unread := harness.UnreadOptions(c.Plan)
	for i, v := range c.MatrixOf.Values {
		at := c.matrixLines[i]
		if err := option.Check(harness.Owners(), option.Values{v.Option: v.Value}); err != nil {
			return f.bad(at.value, "cell %q: matrix: %v", c.Name, err)
		}
		if j := slices.IndexFunc(unread, func(s option.Stray) bool { return s.Name == v.Option }); j >= 0 {
			return f.bad(at.option, "cell %q: matrix: %s: an option of %s, which this cell does not use", c.Name, v.Option, unread[j].Belongs())
		}
	}
	return nil
}
