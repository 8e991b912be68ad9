package campaign

import (
	"errors"
	"strings"
	"testing"
)

// Loose settings that a campaign file took without a word (issue 27) are
// refused with the file and the line where they were written.
func TestLooseSettingsAreRefusedAtTheirLine(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"a seed twice", "name: x\ncells:\n  - name: a\n    target: inmemory\n    seeds: [7, 7]\n",
			`bad.yaml:3: cell "a": seeds: 7 is listed twice; a seed runs once`},
		{"a seed twice in the defaults", "name: x\ndefaults:\n  seeds: [1, 2, 1]\ncells:\n  - target: inmemory\n",
			`bad.yaml:2: defaults: seeds: 1 is listed twice; a seed runs once`},
		{"nodes not whole", "name: x\ncells:\n  - target: inmemory\n    nodes: 1.5\n", `bad.yaml:4: nodes: 1.5 is not a whole number`},
		{"concurrency not whole", "name: x\ndefaults:\n  concurrency: 2.5\ncells:\n  - target: inmemory\n", `bad.yaml:3: concurrency: 2.5 is not a whole number`},
		{"keys in an exponent", "name: x\nmatrix:\n  - targets: [inmemory]\n    workloads: [mutex]\n    keys: 1e3\n", `bad.yaml:5: keys: 1e3 is not a whole number`},
		{"repeats not whole", "name: x\ncells:\n  - target: inmemory\n    repeats: 2.0\n", `bad.yaml:4: repeats: 2.0 is not a whole number`},
		{"parallel not whole", "name: x\nparallel: 1.5\ncells:\n  - target: inmemory\n", `bad.yaml:2: parallel: 1.5 is not a whole number`},
		{"a seed not whole", "name: x\ncells:\n  - target: inmemory\n    seeds: [3, 7.9]\n", `bad.yaml:4: seeds: 7.9 is not a whole number`},
		{"a nemesis option without the nemesis", "name: x\ncells:\n  - name: a\n    target: inmemory\n    options: {kill.restart-delay: 1s}\n",
			`bad.yaml:3: cell "a": options: kill.restart-delay: an option of nemesis kill, which the run does not use`},
		{"a target option on another target", "name: x\ncells:\n  - name: a\n    target: inmemory\n    options: {redis.persistence: aof}\n",
			`bad.yaml:3: cell "a": options: redis.persistence: an option of target redis, which the run does not use`},
		{"a defaults option no cell reads", "name: x\ndefaults:\n  options: {redis.persistence: aof}\ncells:\n  - target: inmemory\n",
			`bad.yaml:2: defaults: options: redis.persistence: an option of target redis, which no cell uses`},
		{"a matrix option no cell of it reads", "name: x\ncells:\n  - target: redis\nmatrix:\n  - targets: [inmemory]\n    workloads: [mutex]\n    options: {redis.persistence: aof}\n",
			`bad.yaml:5: matrix: options: redis.persistence: an option of target redis, which no cell of this matrix entry uses`},
		{"a judge typo in the defaults", "name: x\ndefaults:\n  judge: [fencin]\ncells:\n  - target: inmemory\n",
			`bad.yaml:2: defaults: judge: "fencin" is not a checker that any workload runs`},
		{"a defaults judge the cell's workload does not run", "name: x\ndefaults:\n  judge: [inventory]\ncells:\n  - name: a\n    target: inmemory\n",
			`bad.yaml:2: defaults: judge: "inventory" is not a checker that workload mutex runs (valid: mutual-exclusion, linearizability, fencing, liveness), in cell "a" (line 5)`},
		{"a cell's own judge", "name: x\ndefaults:\n  judge: [inventory]\ncells:\n  - name: a\n    target: inmemory\n    judge: [fencin]\n",
			`bad.yaml:5: cell "a": judge: "fencin" is not a checker that workload mutex runs`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.in), "bad.yaml")
			if !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

// An option of the defaults reaches the cells whose parts read it and no
// other: it is no error that some cells do not read it.
func TestADefaultsOptionReachesOnlyTheCellsThatReadIt(t *testing.T) {
	in := "name: x\ndefaults:\n  options: {redis.persistence: aof}\ncells:\n  - target: inmemory\n  - target: redis\n"
	f, err := Parse([]byte(in), "ok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells := f.Expand()
	if _, ok := cells[0].Plan.Options["redis.persistence"]; ok {
		t.Errorf("the inmemory cell got the redis option: %v", cells[0].Plan.Options)
	}
	if cells[1].Plan.Options["redis.persistence"] != "aof" {
		t.Errorf("the redis cell lost the option: %v", cells[1].Plan.Options)
	}
}
