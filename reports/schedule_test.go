package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"
)

// The fault table gives each fault's times on the timeline's clock (the
// history's, not the schedule's offsets from the workload's start),
// rounded to milliseconds, and says which nodes or client it struck, from
// the nemesis's ops in the history.
func TestFaultTableIsOnTheTimelinesClockAndNamesWhatWasStruck(t *testing.T) {
	b := &builder{}
	b.add(100, 0, history.Invoke, history.FAcquire, "lock-a", lease(2*time.Second))
	b.add(120, 0, history.Ok, history.FAcquire, "lock-a", tok(1), lease(2*time.Second))
	nemesisOp(b, 14793.765849, "start-pause", `{"mode":"one","targets":["n2"],"details":{"nodes":["n2"],"pids":[41]}}`)
	nemesisOp(b, 17801.2, "stop-pause", `{"mode":"one","targets":["n2"]}`)
	nemesisOp(b, 20500.4, "start-client-pause", `{"params":{"stall":"3s"},"details":{"process":7,"key":"lock-a","stall":"3s"}}`)
	nemesisOp(b, 23500.9, "stop-client-pause", `{}`)
	nemesisOp(b, 25000, "start-partition", `{"mode":"client-holder","details":{"clients":{"c3":{}},"processes":[3]}}`)
	b.add(26000, 0, history.Invoke, history.FRelease, "lock-a")
	b.add(26010, 0, history.Ok, history.FRelease, "lock-a")
	res := runResult("lock-a", false)
	res.WorkloadStart = 12e9
	res.Plan.Nemeses = []string{"pause", "client-pause", "partition"}
	res.Plan.Schedule.Events = []plan.Event{
		{Nemesis: "pause", Mode: "one", Targets: []string{"n2"}, Start: 2793765849, Duration: 3 * time.Second},
		{Nemesis: "client-pause", Start: 8500 * time.Millisecond, Duration: 3 * time.Second, Params: map[string]string{"stall": "3s"}},
		{Nemesis: "partition", Mode: "client-holder", Start: 13 * time.Second, Duration: 1500 * time.Millisecond},
		{Nemesis: "kill", Mode: "one", Targets: []string{"n1"}, Start: 50 * time.Second, Duration: time.Second},
	}
	page := renderRun(t, res, b.h)
	_, table, ok := strings.Cut(page, `<section id="schedule">`)
	if !ok {
		t.Fatal("run page has no fault schedule")
	}
	table, _, _ = strings.Cut(table, "</section>")
	for _, want := range []string{
		"<td>nodes n2</td><td>14.793s</td><td>3.000s</td><td>17.801s</td>",
		"<td>client p7 (holding lock-a)</td><td>20.500s</td><td>3.000s</td><td>23.500s</td>",
		"<td>clients p3</td><td>25.000s</td><td>1.500s</td><td>not healed in the history</td>",
		"<td>nodes n1</td><td>not reached <span class=\"muted small\">(due at 62.000s)</span></td>",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("fault table lacks %s:\n%s", want, table)
		}
	}
	for _, bad := range []string{"2.793765849s", "2.793s"} {
		if strings.Contains(table, bad) {
			t.Errorf("fault table shows %q:\n%s", bad, table)
		}
	}
}
