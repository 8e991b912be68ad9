package workloads

import (
	"context"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// Mutex is the plain lock loop: each client acquires a random key, reads a
// register of the trusted resource, works for the hold time, writes the
// register back incremented with its fencing token, and releases. The lock
// checkers judge it; a lost increment in the register is what a broken lock
// does to data.
type Mutex struct{}

// Name implements Workload.
func (Mutex) Name() string { return "mutex" }

// Description implements Workload.
func (Mutex) Description() string {
	return "acquire, read-modify-write a shared register, release: the plain mutual-exclusion loop"
}

// Options implements Workload: the mutex loop has none.
func (Mutex) Options() []option.Spec { return nil }

// Variants implements Workload: there are none.
func (Mutex) Variants() []string { return nil }

// Keys implements Workload.
func (Mutex) Keys(p *plan.Plan) []string { return LockKeys(p.Keys) }

// Checkers implements Workload: the lock checkers cover the mutex loop.
func (Mutex) Checkers(*plan.Plan) []func(history.History) checker.Result { return nil }

// Run implements Workload.
func (m Mutex) Run(ctx context.Context, env *Env) error {
	keys := m.Keys(env.Plan)
	res := NewResource(env.Plan.Fencing)
	return runWorkers(ctx, env, func(w *worker) error {
		key := keys[w.rng.Intn(len(keys))]
		g, ok := w.acquire(key)
		if !ok {
			return nil
		}
		if !w.afterAcquire(key) {
			return nil
		}
		if v, ok := w.readFenced(res, key, g.Token); ok && !w.lost {
			w.work(key, env.Plan.Hold)
			if !w.lost {
				w.write(res, key, g.Token, v+1)
			}
		}
		w.release(key)
		return nil
	})
}

// Judges implements Workload.
func (Mutex) Judges() []string { return nil }
