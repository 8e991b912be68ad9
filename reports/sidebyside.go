package reports

import (
	"strings"

	"github.com/lockstorm/lockstorm/store"
)

// A sideBySide is the cells that one cell's matrix expanded into (a
// campaign file's matrix: under a cell), one column per combination of
// values, so that the page shows the values side by side for its claim.
type sideBySide struct {
	// Cell is the cell as written; Options its matrix's options, joined
	// by " × ".
	Cell, Claim, Expect, Options string
	Columns                      []sideColumn
}

// A sideColumn is one expanded cell: its values, joined by " · ", and
// what the matrix grid shows of it.
type sideColumn struct {
	Label string
	cellView
}

// sideBySides groups the cells with a MatrixOf by the cell they came
// from, in order of first appearance; nil when no cell has one.
func sideBySides(cells []store.CellResult) []sideBySide {
	var out []sideBySide
	at := map[string]int{}
	for _, c := range cells {
		if c.MatrixOf == nil {
			continue
		}
		i, ok := at[c.MatrixOf.Cell]
		if !ok {
			i = len(out)
			at[c.MatrixOf.Cell] = i
			var opts []string
			for _, v := range c.MatrixOf.Values {
				opts = append(opts, v.Option)
			}
			out = append(out, sideBySide{Cell: c.MatrixOf.Cell, Claim: c.Description, Expect: string(c.Expect),
				Options: strings.Join(opts, " × ")})
		}
		var vals []string
		for _, v := range c.MatrixOf.Values {
			vals = append(vals, v.Value)
		}
		out[i].Columns = append(out[i].Columns, sideColumn{Label: strings.Join(vals, " · "), cellView: cellOf(c)})
	}
	return out
}
