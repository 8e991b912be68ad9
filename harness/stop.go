package harness

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
)

// watchEvery is the shortest time between two looks at the history for a
// violation; a look that takes long spaces the next ones out.
const watchEvery = 250 * time.Millisecond

// watchViolations, for a plan with a StopAfterViolation, looks at the
// history recorded so far while the workload runs, and once it shows a
// violation (checker.ShownViolation) ends the workload by calling stop,
// the grace after that violation. It returns a func that waits for the
// watch to end, after ctx is done, and says when (on the history's clock)
// it stopped the workload, 0 when it did not.
//
// Mutual exclusion is watched. A run judged by its workload's own
// checkers (Plan.Judge: a double payment, a job run twice, a split brain,
// a wrong stock) is watched for what they judge as well: once the lock
// shows an overlap, the grace counts from the first violation those
// checkers find in the history so far, so that the run ends only after
// the consequence it is judged by was recorded. A run judged by other
// checkers that leave mutual exclusion out (fencing, liveness) is not
// stopped, since its verdict would not follow.
func (r *run) watchViolations(ctx context.Context, stop context.CancelFunc) func() int64 {
	grace := r.Plan.StopAfterViolation
	none := func() int64 { return 0 }
	if grace <= 0 || r.rec == nil {
		return none
	}
	shown := checker.ShownViolation
	if len(r.Plan.Judge) > 0 && !slices.Contains(r.Plan.Judge, checker.NameMutualExclusion) {
		judged, ok := r.judgedWorkloadCheckers()
		if !ok {
			r.log.Warn("--stop-after-violation watches mutual exclusion and the workload's checkers, and neither judges this run: the workload runs its whole time limit", "judge", r.Plan.Judge)
			return none
		}
		shown = func(h history.History) (int64, bool) { return shownConsequence(h, judged, r.Plan.Judge) }
	}
	var stoppedAt atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		if at, ok := watchHistory(ctx, r.rec, shown); ok {
			wait := time.Duration(at + int64(grace) - r.rec.Now())
			r.log.Info("violation shown", "at", history.FormatTime(at), "workload ends in", wait.Round(time.Millisecond))
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if ctx.Err() != nil {
				return // the time limit came first
			}
			stoppedAt.Store(r.rec.Now())
			stop()
		}
	}()
	return func() int64 {
		<-done
		return stoppedAt.Load()
	}
}

// judgedWorkloadCheckers returns the workload's checkers when they are
// what judges the run: every name in Plan.Judge is one the workload's
// checkers judge by (Workload.Judges).
func (r *run) judgedWorkloadCheckers() ([]func(history.History) checker.Result, bool) {
	if r.Workload == nil {
		return nil, false
	}
	for _, name := range r.Plan.Judge {
		if !slices.Contains(r.Workload.Judges(), name) {
			return nil, false
		}
	}
	fs := r.Workload.Checkers(&r.Plan)
	return fs, len(fs) > 0
}

// shownConsequence says when a prefix of a history shows what the
// workload's checkers judge: only once mutual exclusion shows an overlap
// (the cause; a checker of a workload can also see, in a prefix, a job
// that has not run yet), the earliest first violation that one of them
// named in judge finds before the prefix's last operation.
func shownConsequence(prefix history.History, checkers []func(history.History) checker.Result, judge []string) (int64, bool) {
	if _, ok := checker.ShownViolation(prefix); !ok {
		return 0, false
	}
	first := int64(-1)
	for _, f := range checkers {
		res := f(prefix)
		if res.Status != checker.Invalid || !slices.Contains(judge, res.Checker) {
			continue
		}
		at := checker.FirstViolation(checker.Report{Results: []checker.Result{res}})
		if at >= 0 && at < prefix[len(prefix)-1].Time && (first < 0 || at < first) {
			first = at
		}
	}
	return first, first >= 0
}

// watchHistory looks at rec's history until shown finds a violation in
// it, whose time it returns, or until ctx is done.
func watchHistory(ctx context.Context, rec *history.Recorder, shown func(history.History) (int64, bool)) (int64, bool) {
	pause, seen := watchEvery, 0
	for {
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, false
		case <-t.C:
		}
		if rec.Len() == seen {
			continue
		}
		begin := time.Now()
		h := rec.History()
		seen = len(h)
		if at, ok := shown(h); ok {
			return at, true
		}
		// Looking costs a sweep of the whole history: keep it under a
		// tenth of the machine.
		pause = max(watchEvery, 10*time.Since(begin))
	}
}
