package campaign

import (
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/store"
)

// stop-after-violation: in the defaults reaches only the cells that
// expect unsafe; a cell's own value replaces the defaults', and a safe
// or explore cell runs its whole time limit even when it sets the key.
func TestStopAfterViolationReachesOnlyUnsafeCells(t *testing.T) {
	f, err := Parse([]byte(`name: t
defaults:
  stop-after-violation: 5s
cells:
  - {name: u, target: inmemory, expect: unsafe}
  - {name: u2, target: inmemory, expect: unsafe, stop-after-violation: 2s}
  - {name: s, target: inmemory, expect: safe, stop-after-violation: 2s}
  - {name: e, target: inmemory}
matrix:
  - {targets: [inmemory], workloads: [mutex], expect: unsafe}
`), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"u": 5 * time.Second, "u2": 2 * time.Second, "s": 0, "e": 0, "inmemory-mutex-none": 5 * time.Second}
	for _, c := range f.Expand() {
		if got := c.Plan.StopAfterViolation; got != want[c.Name] {
			t.Errorf("cell %s (expect %s): stop after violation %s, want %s", c.Name, c.Expect, got, want[c.Name])
		}
		if c.Expect != store.ExpectUnsafe && c.Plan.StopAfterViolation != 0 {
			t.Errorf("cell %s expects %s and stops early", c.Name, c.Expect)
		}
	}
}
