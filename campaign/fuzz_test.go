package campaign

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseCampaign feeds Parse arbitrary bytes: it never panics, every
// refusal wraps ErrBadFile and names the file, and every file it accepts
// expands into 1..MaxCells cells and validates again. CI runs it for a
// bounded time (docs/robustness.md).
func FuzzParseCampaign(f *testing.F) {
	for _, seed := range []string{
		good,
		inmemoryCampaign,
		"name: x\ncells:\n  - target: inmemory\n    time-limt: 5s\n",
		"name: x\nparallel: 9\ncells:\n  - target: inmemory\n",
		"name: x\ndefaults:\n  repeats: 0\ncells:\n  - target: inmemory\n",
		"name: x\ncells:\n  - target: inmemory\n    seeds: [0, -1, 9007199254740993]\n",
		"name: x\ncells:\n  - target: inmemory\n    rate: .nan\n    ttl: -1s\n    hold: auto\n",
		"name: x\ncells:\n  - target: inmemory\n---\nname: y\n",
		"name: x\nmatrix:\n  - targets: [inmemory, inmemory]\n    workloads: [mutex, payment]\n    nemeses: [none, pause+kill]\n",
		"a: &a [x, x]\nb: &b [*a, *a]\ncells: *b\n",
		"cells: [{target: inmemory, options: {pause.duration: 1s, \"\": x}}]\n",
		"\xef\xbb\xbfname: bom\ncells:\n- target: inmemory\n",
		matrixFile,
		"cells:\n  - target: redis\n    matrix: &m {redis.persistence: [none, aof], pause.duration: [1s]}\n  - target: redis\n    nemesis: pause\n    matrix: *m\n",
		"", "---", "[", "{", "cells: [", "cells:\n  - !!binary AAAA\n",
	} {
		f.Add([]byte(seed))
	}
	for _, name := range []string{"default", "smoke"} {
		b, err := EmbeddedSource(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.yaml"
		file, err := Parse(data, name)
		if err != nil {
			if !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), name) {
				t.Fatalf("refusal %q does not wrap ErrBadFile and name the file", err)
			}
			return
		}
		if n := len(file.Expand()); n < 1 || n > MaxCells {
			t.Fatalf("accepted a file of %d cells", n)
		}
		if err := file.Validate(); err != nil {
			t.Fatalf("an accepted file does not validate again: %v", err)
		}
	})
}
