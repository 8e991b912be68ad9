package campaign

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/store"
)

const matrixFile = `name: m
defaults:
  options: {pause.duration: 1s}
cells:
  - name: redis-kill
    target: redis
    nemesis: kill
    expect: unsafe
    claim: "Without persistence a restarted Redis forgets the lock."
    seeds: [4, 7]
    matrix:
      redis.persistence: [aof, none]
  - target: redis
    nemesis: pause
    repeats: 2
    matrix:
      redis.persistence: [none, rdb]
      pause.duration: [1s, 2s]
  - name: plain
    target: redis
`

func TestCellMatrixExpandsIntoOneCellPerCombinationNamedAfterItsValues(t *testing.T) {
	f, err := Parse([]byte(matrixFile), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells := f.Expand()
	var names []string
	for i, c := range cells {
		names = append(names, c.Name)
		if c.Index != i {
			t.Errorf("cell %s has index %d, want %d", c.Name, c.Index, i)
		}
	}
	want := []string{
		"redis-kill@redis.persistence=aof",
		"redis-kill@redis.persistence=none",
		"redis-mutex-pause@redis.persistence=none@pause.duration=1s",
		"redis-mutex-pause@redis.persistence=none@pause.duration=2s",
		"redis-mutex-pause@redis.persistence=rdb@pause.duration=1s",
		"redis-mutex-pause@redis.persistence=rdb@pause.duration=2s",
		"plain",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("cells =\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range cells[:2] {
		if c.Expect != store.ExpectUnsafe || c.Claim == "" || fmt.Sprint(c.Seeds) != "[4 7]" || c.Line != 5 || c.Target != "redis" {
			t.Errorf("cell %s did not keep the cell's settings: expect %s, seeds %v, line %d", c.Name, c.Expect, c.Seeds, c.Line)
		}
	}
	if got := cells[1].Plan.Options["redis.persistence"]; got != "none" {
		t.Errorf("redis.persistence of %s = %q", cells[1].Name, got)
	}
	last := cells[5]
	if last.Plan.Options["redis.persistence"] != "rdb" || last.Plan.Options["pause.duration"] != "2s" || len(last.Seeds) != 2 || last.Line != 13 {
		t.Errorf("cell %s: options %v, seeds %v, line %d", last.Name, last.Plan.Options, last.Seeds, last.Line)
	}
	wantOf := &store.MatrixOf{Cell: "redis-mutex-pause", Values: []store.MatrixValue{{Option: "redis.persistence", Value: "rdb"}, {Option: "pause.duration", Value: "2s"}}}
	if !reflect.DeepEqual(last.MatrixOf, wantOf) {
		t.Errorf("MatrixOf = %+v, want %+v", last.MatrixOf, wantOf)
	}
	if got := newCellResult(last).MatrixOf; !reflect.DeepEqual(got, wantOf) {
		t.Errorf("the cell's result says it came from %+v, want %+v", got, wantOf)
	}
	if cells[6].MatrixOf != nil || newCellResult(cells[6]).MatrixOf != nil {
		t.Errorf("a cell without a matrix says it came from one: %+v", cells[6].MatrixOf)
	}
	// The defaults' option reaches the pause cells, whose matrix overrides
	// it, and not the kill cells, which do not read it.
	if _, ok := cells[0].Plan.Options["pause.duration"]; ok {
		t.Errorf("the kill cell inherited pause.duration: %v", cells[0].Plan.Options)
	}
	// The names select with --cells.
	sel, err := Select(cells, "redis-kill@*")
	if err != nil || len(sel) != 2 {
		t.Errorf("Select(redis-kill@*) = %d cells, %v", len(sel), err)
	}
}

func TestCellMatrixRefusesWhatCannotExpandAtItsLine(t *testing.T) {
	cell := "name: x\ncells:\n  - name: a\n    target: redis\n    nemesis: kill\n"
	cases := []struct{ name, in, want string }{
		{"empty list", cell + "    matrix:\n      redis.persistence: []\n", `bad.yaml:7: matrix: redis.persistence: the list of values is empty`},
		{"not a list", cell + "    matrix:\n      redis.persistence: aof\n", `bad.yaml:7: matrix: redis.persistence: want a list of values`},
		{"not a mapping", cell + "    matrix: [aof, none]\n", `bad.yaml:6: matrix: want options with lists of values`},
		{"empty mapping", cell + "    matrix: {}\n", `bad.yaml:6: matrix: want options with lists of values`},
		{"a list in the list", cell + "    matrix:\n      redis.persistence: [aof, [none]]\n", `bad.yaml:7: matrix: redis.persistence: a value must be a single word`},
		{"duplicate value", cell + "    matrix:\n      redis.persistence:\n        - aof\n        - none\n        - aof\n", `bad.yaml:10: matrix: redis.persistence: "aof" is listed twice (first at line 8)`},
		{"duplicate option", cell + "    matrix:\n      redis.persistence: [aof]\n      redis.persistence: [none]\n", `bad.yaml:8: matrix: redis.persistence is listed twice (first at line 7)`},
		{"a comma in a value", cell + "    matrix:\n      pause.mode: [\"holder,one\"]\n", `bad.yaml:7: matrix: pause.mode: "holder,one": a value becomes part of the cell's name`},
		{"empty value", cell + "    matrix:\n      redis.persistence: [\"\"]\n", `bad.yaml:7: matrix: redis.persistence: an empty value`},
		{"also in options", cell + "    options: {redis.persistence: aof}\n    matrix:\n      redis.persistence: [none, rdb]\n", `bad.yaml:8: matrix: redis.persistence is also set in the cell's options`},
		{"unknown option", cell + "    matrix:\n      redis.persistance: [none, rdb]\n", `bad.yaml:7: cell "a@redis.persistance=none": matrix: redis.persistance: unknown option`},
		{"bad value", cell + "    matrix:\n      redis.persistence:\n        - none\n        - fsync\n", `bad.yaml:9: cell "a@redis.persistence=fsync": matrix: redis.persistence="fsync": unknown value "fsync" (valid: none, aof, rdb)`},
		{"an option the cell does not read", cell + "    matrix:\n      pause.mode: [holder]\n", `bad.yaml:7: cell "a@pause.mode=holder": matrix: pause.mode: an option of nemesis pause, which this cell does not use`},
		{"name collision", "name: x\ncells:\n  - name: a@redis.persistence=aof\n    target: redis\n  - name: a\n    target: redis\n    matrix:\n      redis.persistence: [aof]\n", `bad.yaml:5: cell name "a@redis.persistence=aof" is used twice (first at line 3)`},
		{"too many cells", cell + "    matrix:\n      pause.duration: [" + seq(40, "s") + "]\n      kill.restart-delay: [" + seq(40, "s") + "]\n", `bad.yaml:1: 1600 cells; a campaign may have at most 1000`},
		{"in a file matrix entry", "name: x\nmatrix:\n  - targets: [redis]\n    workloads: [mutex]\n    matrix: {redis.persistence: [aof]}\n", `bad.yaml:5: unknown field "matrix"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.in), "bad.yaml")
			if !errors.Is(err, ErrBadFile) {
				t.Fatalf("Parse = %v, want ErrBadFile (exit 3)", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse error = %v\nwant it to contain %s", err, c.want)
			}
		})
	}
}

// seq is "1<unit>, 2<unit>, ..., n<unit>".
func seq(n int, unit string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%d%s", i+1, unit)
	}
	return strings.Join(parts, ", ")
}
