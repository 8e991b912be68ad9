package harness

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

// fencedOverlap is a history in which mutual exclusion broke (p1 was
// granted the lock while p0 held it) and the resource refused p0's stale
// write: the lock broke, the data did not.
func fencedOverlap() history.History {
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	ops := []history.Op{
		{Process: 0, Type: history.Invoke, F: history.FAcquire, Key: "k"},
		{Process: 0, Type: history.Ok, F: history.FAcquire, Key: "k", Token: history.Tok(1)},
		{Process: 1, Type: history.Invoke, F: history.FAcquire, Key: "k"},
		{Process: 1, Type: history.Ok, F: history.FAcquire, Key: "k", Token: history.Tok(2)},
		{Process: 1, Type: history.Invoke, F: history.FWrite, Key: "res", Token: history.Tok(2)},
		{Process: 1, Type: history.Ok, F: history.FWrite, Key: "res", Token: history.Tok(2)},
		{Process: 0, Type: history.Invoke, F: history.FWrite, Key: "res", Token: history.Tok(1)},
		{Process: 0, Type: history.Fail, F: history.FWrite, Key: "res", Token: history.Tok(1), Error: "stale token 1 < 2"},
		{Process: 0, Type: history.Invoke, F: history.FRelease, Key: "k"},
		{Process: 0, Type: history.Ok, F: history.FRelease, Key: "k"},
		{Process: 1, Type: history.Invoke, F: history.FRelease, Key: "k"},
		{Process: 1, Type: history.Ok, F: history.FRelease, Key: "k"},
	}
	for i := range ops {
		ops[i].Index, ops[i].Time = i, ms(int64(10*(i+1)))
	}
	return ops
}

func TestJudgeByFencingIsValidWhenFencingRefusedEveryStaleWriteAndStillSaysTheLockBroke(t *testing.T) {
	res := store.RunResult{Plan: plan.Plan{Workload: "mutex", Fencing: true, Judge: []string{checker.NameFencing}}}
	Judge(&res, fencedOverlap())
	if res.Status != checker.Valid {
		t.Fatalf("status %s, want valid by fencing: %s", res.Status, res.Summary)
	}
	if res.AllCheckers != checker.Invalid {
		t.Errorf("all_checkers %q, want invalid: mutual exclusion broke", res.AllCheckers)
	}
	if res.FirstViolation != -1 {
		t.Errorf("first violation %d, want -1 for a run valid by its judge", res.FirstViolation)
	}
	for _, want := range []string{"fencing found the history valid", "Over all checkers the run is INVALID", "so the data stayed safe"} {
		if !strings.Contains(res.Summary, want) {
			t.Errorf("summary lacks %q: %s", want, res.Summary)
		}
	}
}

func TestJudgeWithoutAJudgeIsOverAllCheckers(t *testing.T) {
	res := store.RunResult{Plan: plan.Plan{Workload: "mutex", Fencing: true}}
	Judge(&res, fencedOverlap())
	if res.Status != checker.Invalid || res.AllCheckers != "" {
		t.Fatalf("status %s, all_checkers %q; want invalid and no all_checkers", res.Status, res.AllCheckers)
	}
}

func TestResolveRefusesAJudgeThatNamesNoCheckerOfTheRun(t *testing.T) {
	p := plan.Default()
	p.Target, p.Judge = "inmemory", []string{"inventory"}
	_, err := Resolve(p)
	var fe *plan.FieldError
	if err == nil || !errors.As(err, &fe) || fe.Field != "judge" || !strings.Contains(fe.Msg, "valid: mutual-exclusion, linearizability, fencing, liveness") {
		t.Fatalf("Resolve: %v, want a judge field error listing the valid checkers", err)
	}
}
