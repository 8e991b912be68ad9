package reports

import (
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

func TestReplacedNoteNamesTheChainsOfReplacedProcesses(t *testing.T) {
	for _, c := range []struct {
		claim     string
		processes []int
		stride    int
		workload  string
		want      string // "" for no note
	}{
		{"consecutive processes need no note", []int{0, 1, 2, 3, 4}, 5, "mutex", ""},
		{"p7 and p9 replaced p2 and p4", []int{0, 1, 2, 3, 4, 7, 9, 14}, 5, "mutex",
			"plus the number of clients (5). Replaced here: p2 → p7; p4 → p9 → p14."},
		{"contention names only the rule", []int{0, 1, 9}, 8, "contention", "plus the largest client count of the sweep."},
	} {
		got := replacedNote(c.processes, c.stride, c.workload)
		if c.want == "" && got != "" || c.want != "" && !strings.HasSuffix(got, c.want) {
			t.Errorf("%s: %q, want it to end %q", c.claim, got, c.want)
		}
	}
}

func TestTimelineLegendSaysWhyLanesJump(t *testing.T) {
	h := overlapHistory("lock-a", true)
	res := runResult("lock-a", true) // concurrency 3: p3 replaced p0
	page := renderRun(t, res, h)
	if !strings.Contains(page, `id="replaced"`) || !strings.Contains(page, "unknown outcome") || !strings.Contains(page, "p0 → p3") {
		t.Error("the timeline does not say why p3 follows p0..p2")
	}
	var kept history.History
	for _, o := range h {
		if o.Process != 3 {
			kept = append(kept, o)
		}
	}
	sortByTime(kept)
	if page := renderRun(t, res, kept); strings.Contains(page, `id="replaced"`) {
		t.Error("a timeline whose processes are p0..p2 says some were replaced")
	}
}
