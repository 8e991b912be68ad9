package workloads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// DefaultTick is the period of the scheduled jobs (--opt
// scheduled-jobs.tick=D).
const DefaultTick = 200 * time.Millisecond

// ScheduledJobs is the chapter's scheduled-jobs use case (7.2.9): every
// server runs the same cron schedule, and each tick of each job must run
// exactly once across the servers. Tick t of a run falls due t tick
// periods after the run started. At every tick each client, for every job,
// takes the job's lock, reads the last tick that ran from the trusted
// resource, and when it is older than the current tick, runs the job (the
// hold time) and commits its result with the new last tick, all with its
// fencing token; then it releases. A client that is still busy when a tick falls due catches up
// with the current tick and skips the ones in between.
type ScheduledJobs struct{}

// Name implements Workload.
func (ScheduledJobs) Name() string { return "scheduled-jobs" }

// scheduledTickOpt is the period of the jobs.
var scheduledTickOpt = option.Duration{Name: "scheduled-jobs.tick", Default: DefaultTick, Min: time.Millisecond,
	Help: "the period of the scheduled jobs"}

// Options implements Workload.
func (ScheduledJobs) Options() []option.Spec { return option.Specs(scheduledTickOpt) }

// Variants implements Workload: there are none.
func (ScheduledJobs) Variants() []string { return nil }

// Description implements Workload.
func (ScheduledJobs) Description() string {
	return "every server runs the cron; each tick's job must run exactly once (chapter 7.2.9)"
}

// Keys implements Workload: one job per key, job-0..job-(n-1).
func (ScheduledJobs) Keys(p *plan.Plan) []string {
	n := max(p.Keys, 1)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("job-%d", i)
	}
	return keys
}

// Checkers implements Workload: the scheduled-jobs checker.
func (ScheduledJobs) Checkers(p *plan.Plan) []func(history.History) checker.Result {
	tick := scheduledTickOpt.Get(p.Options)
	return []func(history.History) checker.Result{
		func(h history.History) checker.Result { return checker.ScheduledJobs(h, tick) },
	}
}

// Run implements Workload.
func (s ScheduledJobs) Run(ctx context.Context, env *Env) error {
	p := env.Plan
	tick := scheduledTickOpt.Get(p.Options)
	keys := s.Keys(p)
	res := NewResource(p.Fencing)
	for _, k := range keys {
		_ = res.Write(k, nil, -1) // no tick has run
	}
	now := func() int64 { return env.Recorder.Now() / int64(tick) }
	// handled[slot] is the last tick the worker in that slot handled.
	handled := make([]int64, max(p.Concurrency, 1))
	for i := range handled {
		handled[i] = -1
	}
	return runWorkers(ctx, env, func(w *worker) error {
		t := now()
		if t <= handled[w.slot] {
			// Wake when the next tick falls due, as cron does.
			due := time.Duration((handled[w.slot]+1)*int64(tick) - env.Recorder.Now())
			if !wait.Sleep(ctx, due) {
				return nil
			}
			t = now()
		}
		handled[w.slot] = t
		for _, i := range w.rng.Perm(len(keys)) {
			w.claimTick(res, keys[i], t, p.Hold)
			if w.client == nil {
				return nil // retired: the next iteration starts a new process
			}
		}
		return nil
	})
}

// claimTick runs tick t of the job key unless a later or equal tick has
// run already. The job's work takes the hold time; its result is committed
// to the resource at the end, together with the new last tick and under
// the holder's token, so that fencing can refuse the commit of a stale
// holder. (A side effect outside the resource, an e-mail sent, say, no
// token could call back.)
func (w *worker) claimTick(res *Resource, key string, t int64, work time.Duration) {
	g, ok := w.acquire(key)
	if !ok {
		return
	}
	last, ok := w.readFenced(res, key, g.Token)
	if ok && last < t {
		if !w.afterAcquire(key) { // a client fault strikes before the job runs
			return
		}
		w.access(history.FRunJob, key, g.Token, jsonInt(t), func() (json.RawMessage, error) {
			w.work(key, work)
			if w.lost {
				return nil, errors.New("the holder learnt that it lost the lock, and did not run the job")
			}
			return nil, res.Write(key, g.Token, t)
		})
	}
	w.release(key)
}

// Judges implements Workload.
func (ScheduledJobs) Judges() []string { return []string{checker.NameScheduledJobs} }
