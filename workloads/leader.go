package workloads

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
)

// Defaults of the leader-election options.
const (
	// DefaultTerm is how long a leader keeps leadership when the lock has
	// no lease (--opt leader-election.term=D). With a lease, the default
	// term is three quarters of it.
	DefaultTerm = time.Second
	// DefaultLeadPace is the time between two actions of a leader
	// (--opt leader-election.pace=D).
	DefaultLeadPace = 50 * time.Millisecond
)

// LeaderKey is the lock key of the election.
const LeaderKey = "leader"

// LeaderElection is the chapter's leader-election use case (7.2.9):
// leadership is a lease held through the lock. A client that acquires
// "leader" acts as leader at a fixed pace for one term, each action
// recorded with its token and a term id, then releases and steps back for
// one pace; the others contend meanwhile. A leader whose action the fenced resource rejects
// knows it was deposed and steps down at once.
type LeaderElection struct{}

// Name implements Workload.
func (LeaderElection) Name() string { return "leader-election" }

// The leader-election options.
var (
	leaderTermOpt = option.Duration{Name: "leader-election.term", Positive: true,
		Help: "how long a leader keeps leadership (default: 3/4 of the lease, or 1s without one)"}
	leaderPaceOpt = option.Duration{Name: "leader-election.pace", Default: DefaultLeadPace, Positive: true,
		Help: "the time between two actions of a leader"}
)

// Options implements Workload.
func (LeaderElection) Options() []option.Spec { return option.Specs(leaderTermOpt, leaderPaceOpt) }

// Variants implements Workload: there are none.
func (LeaderElection) Variants() []string { return nil }

// Description implements Workload.
func (LeaderElection) Description() string {
	return "leadership as a lease held through the lock; two leaders must never act at once (chapter 7.2.9)"
}

// Keys implements Workload: the one election key.
func (LeaderElection) Keys(*plan.Plan) []string { return []string{LeaderKey} }

// Checkers implements Workload: the leader-election checker.
func (LeaderElection) Checkers(*plan.Plan) []func(history.History) checker.Result {
	return []func(history.History) checker.Result{checker.LeaderElection}
}

// leaderTerm is the default term: a bit less than the lease, so that a
// leader that stalls outlives it.
func leaderTerm(p *plan.Plan) time.Duration {
	if d, ok := leaderTermOpt.Lookup(p.Options); ok {
		return d
	}
	if p.Lease > 0 {
		return p.Lease * 3 / 4
	}
	return DefaultTerm
}

// Run implements Workload.
func (l LeaderElection) Run(ctx context.Context, env *Env) error {
	p := env.Plan
	term, pace := leaderTerm(p), leaderPaceOpt.Get(p.Options)
	res := NewResource(p.Fencing)
	var terms atomic.Int64
	return runWorkers(ctx, env, func(w *worker) error {
		g, ok := w.acquire(LeaderKey)
		if !ok {
			return nil
		}
		// The term runs from the grant, by the leader's own clock: a
		// leader stalled by a client fault acts once more when it wakes,
		// not knowing it slept, and only then sees its term is over.
		began := time.Now()
		if !w.afterAcquire(LeaderKey) {
			return nil
		}
		id := jsonInt(terms.Add(1))
		for {
			if !w.stillLeads() {
				break // the leader learnt it was deposed
			}
			_, ok := w.access(history.FLead, LeaderKey, g.Token, id, func() (json.RawMessage, error) {
				return nil, res.Apply(LeaderKey, g.Token, func(n int64) (int64, error) { return n + 1, nil })
			})
			if !ok || time.Since(began) >= term || !wait.Sleep(ctx, pace) {
				break // deposed, term over, or the run is ending
			}
		}
		w.release(LeaderKey)
		wait.Sleep(ctx, pace) // step back, so that another client can win
		return nil
	})
}

// Judges implements Workload.
func (LeaderElection) Judges() []string { return []string{checker.NameLeaderElection} }

// stillLeads asks a client that can tell (targets.Checker: a ZooKeeper
// client that watches its connection, an etcd leader that proclaims)
// whether it still holds the leadership before the leader acts; one that
// cannot tell is taken at its word.
func (w *worker) stillLeads() bool {
	ch, ok := w.client.(targets.Checker)
	if !ok || !ch.CanCheck() {
		return true
	}
	ctx, cancel := context.WithTimeout(w.ctx, w.opTimeout())
	defer cancel()
	if err := ch.Check(ctx, LeaderKey); errors.Is(err, targets.ErrLost) {
		w.lost = true
		w.env.Log.Debug("leader learnt it was deposed", "process", w.process, "err", err)
		return false
	}
	return true
}
