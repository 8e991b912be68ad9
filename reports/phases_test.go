package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/store"
)

// The run page says where the run's time went, one phase after the other
// in the order they came.
func TestRunPageSaysWhereTheTimeWent(t *testing.T) {
	res := runResult("lock-a", true)
	res.Phases = []store.Phase{{Name: "cluster", Seconds: 3.14}, {Name: "setup", Seconds: 0.7}, {Name: "workload", Seconds: 60}, {Name: "teardown", Seconds: 1.25}, {Name: "check", Seconds: 0.04}}
	page := renderRun(t, res, nil)
	want := "Where the time went: cluster 3.1 s · setup 0.7 s · workload 60.0 s · teardown 1.2 s · check 0.0 s"
	if !strings.Contains(page, want) {
		t.Errorf("the run page does not say %q", want)
	}
	if strings.Contains(page, `id="stopped-early"`) {
		t.Error("a run that ran its time limit says it stopped early")
	}
	old := renderRun(t, runResult("lock-a", true), nil)
	if strings.Contains(old, `id="phases"`) {
		t.Error("a run without phases shows a line of them")
	}
}

// A run whose workload was stopped early after a violation says so, and
// when, in one sentence.
func TestRunPageSaysTheWorkloadStoppedEarly(t *testing.T) {
	res := runResult("lock-a", true)
	res.Plan.StopAfterViolation, res.Plan.TimeLimit = 5*time.Second, 60*time.Second
	res.WorkloadStart, res.StoppedEarlyAt = int64(2*time.Second), int64(9*time.Second)
	page := renderRun(t, res, nil)
	for _, want := range []string{`id="stopped-early"`, "stopped early at 9.000s, 7.000s into the workload,", "5.000s after the first violation"} {
		if !strings.Contains(page, want) {
			t.Errorf("the run page does not say %q", want)
		}
	}
}

// Each cell of the campaign page shows the median of each phase over
// its runs, in the order the phases came.
func TestCampaignCellShowsMedianPhases(t *testing.T) {
	c := sampleCampaign()
	runs := c.Cells[0].Runs
	runs[0].Phases = []store.Phase{{Name: "cluster", Seconds: 3}, {Name: "setup", Seconds: 1}, {Name: "workload", Seconds: 60}}
	runs[1].Phases = []store.Phase{{Name: "cluster", Seconds: 5}, {Name: "setup", Seconds: 0.5}, {Name: "workload", Seconds: 60}}
	runs[2].Phases = []store.Phase{{Name: "cluster", Seconds: 4}, {Name: "setup", Seconds: 0.7}, {Name: "workload", Seconds: 12}, {Name: "prepare", Seconds: 2}}
	page := renderCampaign(t, c)
	want := "cluster 4.0 s · setup 0.7 s · workload 60.0 s · prepare 2.0 s"
	if !strings.Contains(page, want) {
		t.Errorf("the campaign page does not show the cell's median phases %q", want)
	}
	if n := strings.Count(page, `class="muted small phases"`); n != 1 {
		t.Errorf("%d cells show phases; only one has any", n)
	}
}
