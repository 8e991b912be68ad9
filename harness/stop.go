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
// Only mutual exclusion is watched: a run judged by checkers that leave it
// out (Plan.Judge) is not stopped, since its verdict would not follow.
func (r *run) watchViolations(ctx context.Context, stop context.CancelFunc) func() int64 {
	grace := r.Plan.StopAfterViolation
	none := func() int64 { return 0 }
	if grace <= 0 || r.rec == nil {
		return none
	}
	if len(r.Plan.Judge) > 0 && !slices.Contains(r.Plan.Judge, checker.NameMutualExclusion) {
		r.log.Warn("--stop-after-violation watches mutual exclusion, which does not judge this run: the workload runs its whole time limit", "judge", r.Plan.Judge)
		return none
	}
	var stoppedAt atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		if at, ok := watchHistory(ctx, r.rec); ok {
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

// watchHistory looks at rec's history until it shows a violation, whose
// time it returns, or until ctx is done.
func watchHistory(ctx context.Context, rec *history.Recorder) (int64, bool) {
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
		if at, ok := checker.ShownViolation(h); ok {
			return at, true
		}
		// Looking costs a sweep of the whole history: keep it under a
		// tenth of the machine.
		pause = max(watchEvery, 10*time.Since(begin))
	}
}
