package reports

import (
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
)

// manyOverlaps is a history of n overlapped holds on one key: each pair
// of processes holds it at once, more than mutual exclusion's result
// lists.
func manyOverlaps(n int) history.History {
	b := &builder{}
	for i := 0; i < n; i++ {
		t := float64(100 * i)
		a, c := 2*i, 2*i+1
		b.add(t, a, history.Invoke, history.FAcquire, "k")
		b.add(t+1, a, history.Ok, history.FAcquire, "k")
		b.add(t+10, c, history.Invoke, history.FAcquire, "k")
		b.add(t+11, c, history.Ok, history.FAcquire, "k")
		b.add(t+20, a, history.Invoke, history.FRelease, "k")
		b.add(t+21, a, history.Ok, history.FRelease, "k")
		b.add(t+30, c, history.Invoke, history.FRelease, "k")
		b.add(t+31, c, history.Ok, history.FRelease, "k")
	}
	return b.h
}

func TestIncidentsCountedButNotListedLinkToTheFullList(t *testing.T) {
	h := manyOverlaps(checker.DefaultMaxAnomalies + 20)
	res := runResult("k", false)
	res.Results = checker.Check(h, checker.Options{}).Results
	res.Status = checker.Invalid
	page := renderRun(t, res, h)
	for _, want := range []string{
		`id="not-listed"`,
		`<a href="#all-incidents">`,
		`<details class="folded" id="all-incidents"><summary>Every incident of mutual exclusion (120)</summary>`,
		`<td>120</td><td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	if i := strings.Index(page, "counted but not listed"); i < 0 {
		t.Fatal("no not-listed sentence")
	}
}

func TestNoFullListWhenEveryIncidentIsListed(t *testing.T) {
	h := manyOverlaps(3)
	res := runResult("k", false)
	res.Results = checker.Check(h, checker.Options{}).Results
	res.Status = checker.Invalid
	if page := renderRun(t, res, h); strings.Contains(page, "all-incidents") || strings.Contains(page, "counted but not listed") {
		t.Error("a run whose incidents are all listed has a full list")
	}
}
