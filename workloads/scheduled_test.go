package workloads

import (
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets/inmemory"
)

func scheduledConfig() plan.Plan {
	return plan.Plan{Hold: 2 * time.Millisecond, Keys: 2, Options: option.Values{"scheduled-jobs.tick": "50ms"}}
}

func TestScheduledJobsRunOnceUnderACorrectLock(t *testing.T) {
	t.Parallel()
	_, rep := runWorkload(t, ScheduledJobs{}, inmemory.New(), oneNode, scheduledConfig(), time.Second)
	r := result(t, rep, "scheduled-jobs")
	var d checker.ScheduledDetails
	details(t, r, &d)
	if rep.Status != checker.Valid || r.Status != checker.Valid {
		t.Fatalf("report %s, scheduled-jobs %s: %s", rep.Status, r.Status, r.Summary)
	}
	if d.Jobs != 2 || d.Runs == 0 || d.Runs != d.Ticks || d.TickMillis != 50 {
		t.Errorf("details %+v: want both jobs to run, once per tick", d)
	}
}

func TestScheduledJobsRunTwiceUnderABrokenLock(t *testing.T) {
	t.Parallel()
	_, rep := runWorkload(t, ScheduledJobs{}, inmemory.New(), threeNodes, scheduledConfig(), time.Second)
	r := result(t, rep, "scheduled-jobs")
	var d checker.ScheduledDetails
	details(t, r, &d)
	if r.Status != checker.Invalid || d.DuplicateTicks == 0 {
		t.Fatalf("scheduled-jobs %s (%s), want ticks that ran twice", r.Status, r.Summary)
	}
	if me := result(t, rep, "mutual-exclusion"); me.Status != checker.Invalid {
		t.Errorf("ticks ran twice, yet mutual exclusion is %s", me.Status)
	}
}
