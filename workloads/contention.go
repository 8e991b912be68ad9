package workloads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
)

// The contention workload's variants: the sweep of every way over numbers
// of clients, or one way at --concurrency (paced by --rate, beside the
// nemesis).
const (
	ContentionScaling = "scaling"
)

// MinContentionPhase is the shortest phase of the scaling sweep that
// measures anything: the time limit is split evenly over the phases.
const MinContentionPhase = 500 * time.Millisecond

// Contention is the chapter's inventory (7.2.2) done three ways against
// the service's own data store, to show what a lock costs (7.2.10: "locks
// reduce scalability") and what a lock-free way gives instead ("conflict
// resolution possible"):
//
//   - lock: take the target's lock, read the stock, write it back less
//     one, release;
//   - optimistic: read the stock and its version, write it back less one
//     only if the version is unchanged (a Lua check on Redis, a
//     transaction on etcd's mod revision, UPDATE ... WHERE n = $read on
//     PostgreSQL, a versioned setData on ZooKeeper), and try again on a
//     conflict;
//   - atomic: have the store take one off in one step that cannot go
//     below zero (a Lua DECR on Redis, UPDATE ... SET n = n - 1 WHERE
//     n > 0 on PostgreSQL), where the store has one.
//
// The scaling variant runs each way with each number of clients of
// contention.clients in turn, on one item each, as fast as the clients
// go: the time limit is split evenly over the phases. The other variants
// run one way with --concurrency clients, paced by --rate, beside the
// nemesis. The inventory checker accounts for every deduction from an
// audit of the final stock; the contention checker measures each phase.
type Contention struct{}

// What Contention declares beyond a Workload: rules of its own for the
// plan and the target, a stock in the service's store, and a sweep that
// a campaign may ask a speedup of.
var (
	_ Preparer  = Contention{}
	_ StoreUser = Contention{}
	_ Sweeper   = Contention{}
)

var (
	contentionClientsOpt = option.Ints{Name: "contention.clients", Default: []int{1, 2, 4, 8, 16, 32}, Min: 1, Max: 256,
		Help: "the numbers of clients the scaling variant measures each way with, in increasing order"}
	contentionWaysOpt = option.Choice{Name: "contention.ways", Choices: checker.Ways, List: true,
		Help: "the ways the scaling variant measures (default: every way the target's store has)"}
	contentionStockOpt = option.Int{Name: "contention.stock", Default: DefaultStock, Min: 0,
		Help: "the stock every item starts with"}
)

// Name implements Workload.
func (Contention) Name() string { return "contention" }

// Description implements Workload.
func (Contention) Description() string {
	return "the inventory deducted under the lock, optimistically and with an atomic decrement, in the service's own store; measures throughput by clients (chapter 7.2.10)"
}

// Options implements Workload.
func (Contention) Options() []option.Spec {
	return option.Specs(contentionClientsOpt, contentionWaysOpt, contentionStockOpt)
}

// Variants implements Workload: the sweep first, then each way alone.
func (Contention) Variants() []string {
	return append([]string{ContentionScaling}, checker.Ways...)
}

// SweepVariant implements Sweeper: the scaling sweep measures the ways.
func (Contention) SweepVariant() string { return ContentionScaling }

// CheckSpeedup implements Sweeper: only the lock-free ways are measured
// against the lock, and each by a ratio above 0.
func (Contention) CheckSpeedup(speedup map[string]float64) error {
	for way, r := range speedup {
		if way == checker.WayLock || !slices.Contains(checker.Ways, way) {
			return fmt.Errorf("%q is not a lock-free way (valid: %s)", way, strings.Join(checker.Ways[1:], ", "))
		}
		if !(r > 0) {
			return fmt.Errorf("%s: %g must be a ratio above 0", way, r)
		}
	}
	return nil
}

// UsesStore implements StoreUser: the stock is kept in the service's store.
func (Contention) UsesStore() {}

// Judges implements Workload: the contention checker only measures.
func (Contention) Judges() []string { return []string{checker.NameInventory} }

// Checkers implements Workload.
func (Contention) Checkers(p *plan.Plan) []func(history.History) checker.Result {
	stock := int64(contentionStockOpt.Get(p.Options))
	return []func(history.History) checker.Result{
		func(h history.History) checker.Result { return checker.Inventory(h, stock) },
		checker.Contention,
	}
}

// Keys implements Workload: the lock key of every phase of the lock way.
func (c Contention) Keys(p *plan.Plan) []string {
	var keys []string
	for _, n := range c.clients(p) {
		keys = append(keys, checker.ContentionLockKey(n))
	}
	return keys
}

// clients are the numbers of clients of the plan's phases.
func (c Contention) clients(p *plan.Plan) []int {
	if variantOf(c, p) == ContentionScaling {
		return contentionClientsOpt.Get(p.Options)
	}
	return []int{max(p.Concurrency, 1)}
}

// ways are the ways of the plan's phases: the variant's, or for the sweep
// those asked for, else every way the store has.
func (c Contention) ways(p *plan.Plan, decrements bool) []string {
	if v := variantOf(c, p); v != ContentionScaling {
		return []string{v}
	}
	if ws, ok := contentionWaysOpt.Lookup(p.Options); ok {
		return ws
	}
	if decrements {
		return slices.Clone(checker.Ways)
	}
	return []string{checker.WayLock, checker.WayOptimistic}
}

// Prepare implements Preparer: the target needs a store, and the store the
// ways; the deductions are not fenced; each phase of the sweep gets at
// least MinContentionPhase.
func (c Contention) Prepare(p *plan.Plan, svc targets.Service) error {
	st, ok := targets.StockerOf(svc)
	if !ok {
		return &plan.FieldError{Field: "workload", Msg: fmt.Sprintf("contention keeps its stock in the service's own data store, and target %s has none here (targets with one: %s)", svc.Name(), strings.Join(stockers(), ", "))}
	}
	if p.Fencing {
		return &plan.FieldError{Field: "fencing", Msg: "the contention workload writes the stock to the service's store, which does not check fencing tokens; use the inventory workload for fencing"}
	}
	ways := c.ways(p, st.Decrements())
	if slices.Contains(ways, checker.WayAtomic) && !st.Decrements() {
		return &plan.FieldError{Field: "variant", Msg: fmt.Sprintf("target %s's store has no atomic decrement; its ways are lock and optimistic", svc.Name())}
	}
	if variantOf(c, p) == ContentionScaling {
		phases := len(ways) * len(c.clients(p))
		if per := p.TimeLimit / time.Duration(phases); per < MinContentionPhase {
			return &plan.FieldError{Field: "time-limit", Msg: fmt.Sprintf("the scaling sweep has %d phases (%d ways × %d numbers of clients), and %s gives each %s: it needs at least %s (%s each)",
				phases, len(ways), len(c.clients(p)), option.FormatDuration(p.TimeLimit), per.Round(time.Millisecond), option.FormatDuration(time.Duration(phases)*MinContentionPhase), MinContentionPhase)}
		}
	}
	return nil
}

// stockers names the registered targets that have a store.
func stockers() []string {
	var out []string
	for _, t := range targets.All() {
		if _, ok := targets.StockerOf(t); ok {
			out = append(out, t.Name())
		}
	}
	return out
}

// Run implements Workload.
func (c Contention) Run(ctx context.Context, env *Env) error {
	p := env.Plan
	if env.NewStore == nil {
		return fmt.Errorf("target %s has no store for the contention workload", p.Target)
	}
	stock := int64(contentionStockOpt.Get(p.Options))
	decrements := env.Decrements
	ways, counts := c.ways(p, decrements), c.clients(p)
	var items []string
	for _, n := range counts {
		for _, way := range ways {
			items = append(items, checker.ContentionKey(way, n))
		}
	}
	if err := putStock(ctx, env, items, stock); err != nil {
		return err
	}
	var err error
	if variantOf(c, p) == ContentionScaling {
		err = c.sweep(ctx, env, ways, counts)
	} else {
		way, n := ways[0], counts[0]
		err = runWorkers(ctx, env, func(w *worker) error {
			deduct(w, way, n)
			return nil
		})
	}
	if aerr := auditStore(env, items); aerr != nil {
		err = errors.Join(err, aerr)
	}
	return err
}

// putStock sets every item's stock before the clients start.
func putStock(ctx context.Context, env *Env, items []string, stock int64) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := env.NewStore(ctx, -1)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer st.Close()
	for _, k := range items {
		if err := st.Put(ctx, k, stock); err != nil {
			return fmt.Errorf("put the stock of %s: %w", k, err)
		}
	}
	return nil
}

// sweep runs each way with each number of clients in turn, for an equal
// share of the time limit each, the clients as fast as they go.
func (c Contention) sweep(ctx context.Context, env *Env, ways []string, counts []int) error {
	p := env.Plan
	phases := len(ways) * len(counts)
	deadline := time.Now().Add(p.TimeLimit)
	if end, ok := ctx.Deadline(); ok {
		deadline = end
	}
	most := counts[len(counts)-1]
	workers := make([]*worker, most)
	for i := range workers {
		workers[i] = &worker{ctx: ctx, env: env, slot: i, process: i, stride: most,
			rng: rand.New(rand.NewSource(p.Seed*1000003 + int64(i)))}
	}
	defer func() {
		for _, w := range workers {
			w.closeClient()
		}
	}()
	// Make every client the sweep needs before the first phase, so that
	// the phases' shares of the time are equal.
	var wg sync.WaitGroup
	errs := make([]error, len(workers))
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			way := checker.WayOptimistic
			if slices.Contains(ways, checker.WayLock) {
				way = checker.WayLock
			}
			errs[i] = w.prepare(way)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	left := phases
	var over time.Duration // the most a phase ran over its share so far
	for _, n := range counts {
		for _, way := range ways {
			if ctx.Err() != nil {
				return nil
			}
			share := phaseShare(time.Until(deadline), left, over)
			left--
			begin := time.Now()
			err := c.phase(ctx, workers[:n], way, n, share)
			took := time.Since(begin)
			over = max(over, took-share)
			env.Log.Info("contention phase", "way", way, "clients", n, "share", share.Round(time.Millisecond), "took", took.Round(time.Millisecond))
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// phaseShare is the time a phase of the sweep gets when `left` phases
// (this one included) share the time remaining: an equal share, less what
// a phase has run over its share so far (its clients' preparation, the
// operations in flight when its clock ran out), kept back for each phase
// still to come, so that the last ones are not cut short. At most half of
// the time is kept back.
func phaseShare(remaining time.Duration, left int, over time.Duration) time.Duration {
	if left < 1 || remaining <= 0 {
		return 0
	}
	reserve := min(over*time.Duration(left), remaining/2)
	return (remaining - reserve) / time.Duration(left)
}

// phase runs n workers deducting way's item for d: first each makes the
// clients it needs (starting client processes takes seconds), then all
// start together and the clock of the phase starts.
func (Contention) phase(ctx context.Context, ws []*worker, way string, n int, d time.Duration) error {
	var mu sync.Mutex
	var first error
	fail := func(err error) {
		mu.Lock()
		first = cmpOr(first, err)
		mu.Unlock()
	}
	var ready, done sync.WaitGroup
	start := make(chan context.Context)
	for _, w := range ws {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			err := w.prepare(way)
			ready.Done()
			pctx := <-start
			if err != nil {
				fail(err)
				return
			}
			w.ctx = pctx
			if w.env.Plan.Client == plan.ClientGo {
				// A Go binding gives up a waiting acquire when its
				// context ends, with a definite "not acquired". A client
				// process cannot be asked to: its acquire is let finish
				// (within --wait), rather than killing the process.
				w.acquireCtx = pctx
			}
			for pctx.Err() == nil && w.broken == nil {
				deductOnce(w, way, n)
				if err := w.prepare(way); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	ready.Wait()
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for range ws {
		start <- pctx
	}
	done.Wait()
	for _, w := range ws {
		w.ctx, w.acquireCtx = ctx, nil
		first = cmpOr(first, w.broken)
	}
	return first
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// prepare makes the clients the worker's process needs for way: the
// store, and the lock client for the lock way.
func (w *worker) prepare(way string) error {
	if w.store == nil {
		ctx, cancel := context.WithTimeout(context.Background(), w.opTimeout())
		st, err := w.env.NewStore(ctx, w.process)
		cancel()
		if err != nil {
			return fmt.Errorf("store for process %d: %w", w.process, err)
		}
		w.store = st
	}
	if way == checker.WayLock {
		return w.ensureClient()
	}
	return nil
}

// deduct makes one deduction of way on the item of n clients, for the
// runWorkers loop.
func deduct(w *worker, way string, n int) {
	if err := w.prepare(way); err != nil {
		w.broken = cmpOr(w.broken, err)
		return
	}
	deductOnce(w, way, n)
}

// deductOnce makes one attempt at a deduction of way on the item of n
// clients. A write whose outcome is unknown retires the process, after
// the lock way has released its lock.
func deductOnce(w *worker, way string, n int) {
	item := checker.ContentionKey(way, n)
	switch way {
	case checker.WayLock:
		lockKey := checker.ContentionLockKey(n)
		g, ok := w.acquire(lockKey)
		if !ok {
			return
		}
		unknown := false
		if v, _, ok := w.storeRead(item, g.Token); ok && v > 0 {
			if !w.afterAcquire(lockKey) {
				return // crashed: the process is gone
			}
			w.work(lockKey, w.env.Plan.Hold)
			if !w.lost {
				unknown = !w.storeDone(item, g.Token, jsonInt(v-1), w.storeCall(item, g.Token, jsonInt(v-1), func(ctx context.Context) error {
					return w.store.Set(ctx, item, v-1)
				}))
			}
		}
		if w.release(lockKey) && unknown {
			w.retire()
		}
	case checker.WayOptimistic:
		v, version, ok := w.storeRead(item, nil)
		if !ok || v <= 0 || !w.faultBeforeWrite(item) {
			return
		}
		w.work(item, w.env.Plan.Hold)
		err := w.storeCall(item, nil, jsonInt(v-1), func(ctx context.Context) error {
			return w.store.SetIf(ctx, item, v-1, version)
		})
		if !w.storeDone(item, nil, jsonInt(v-1), err) {
			w.retire()
		}
	case checker.WayAtomic:
		var left int64
		err := w.storeCall(item, nil, nil, func(ctx context.Context) error {
			var err error
			left, err = w.store.Decrement(ctx, item)
			return err
		})
		var out json.RawMessage
		if err == nil {
			out = jsonInt(left)
		}
		if !w.storeDone(item, nil, out, err) {
			w.retire()
		}
	}
}

// faultBeforeWrite applies an armed client fault to an optimistic writer
// between its read and its conditional write, where client-pause stalls a
// lock holder: the same stall, with no lock to outlive. A crash ends the
// process, which holds nothing; it returns false then.
func (w *worker) faultBeforeWrite(item string) bool {
	a := w.env.Faults.AfterAcquire(w.process, item)
	if a.Crash {
		w.retire()
		return false
	}
	if a.Stall > 0 {
		wait.Sleep(w.ctx, a.Stall)
		a.Done()
	}
	return true
}

// storeRead reads item's stock and version from the store, recorded as a
// read. A read changes nothing, so a failed one is a fail.
func (w *worker) storeRead(item string, token *int64) (int64, int64, bool) {
	w.record(history.Op{Type: history.Invoke, F: history.FRead, Key: item, Token: token})
	ctx, cancel := context.WithTimeout(context.Background(), w.opTimeout())
	v, version, err := w.store.Get(ctx, item)
	cancel()
	if err != nil {
		w.record(history.Op{Type: history.Fail, F: history.FRead, Key: item, Token: token, Error: err.Error()})
		return 0, 0, false
	}
	w.record(history.Op{Type: history.Ok, F: history.FRead, Key: item, Token: token, Value: jsonInt(v)})
	return v, version, true
}

// storeCall records the invoke of a stock write carrying value and runs
// do under the op timeout.
func (w *worker) storeCall(item string, token *int64, value json.RawMessage, do func(context.Context) error) error {
	w.record(history.Op{Type: history.Invoke, F: history.FWrite, Key: item, Token: token, Value: value})
	ctx, cancel := context.WithTimeout(context.Background(), w.opTimeout())
	defer cancel()
	return do(ctx)
}

// storeDone records the completion of a stock write: ok with value (the
// stock written, or left); a fail when the store certainly did not write
// (a conflict, out of stock, an error with no effect); else info. It
// returns false for info: the caller retires the process.
func (w *worker) storeDone(item string, token *int64, value json.RawMessage, err error) bool {
	switch {
	case err == nil:
		w.record(history.Op{Type: history.Ok, F: history.FWrite, Key: item, Token: token, Value: value})
	case errors.Is(err, targets.ErrConflict), errors.Is(err, targets.ErrOutOfStock), errors.Is(err, targets.ErrNoEffect):
		w.record(history.Op{Type: history.Fail, F: history.FWrite, Key: item, Token: token, Value: value, Error: err.Error()})
	default:
		w.record(history.Op{Type: history.Info, F: history.FWrite, Key: item, Token: token, Value: value, Error: err.Error()})
		return false
	}
	return true
}

// auditStore records the final stock of each item as the store holds it,
// once the clients have stopped.
func auditStore(env *Env, items []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := env.NewStore(ctx, -1)
	if err != nil {
		return fmt.Errorf("audit: open the store: %w", err)
	}
	defer st.Close()
	p := 0
	for _, op := range env.Recorder.History() {
		p = max(p, op.Process+1)
	}
	var out error
	for _, k := range items {
		if _, err := env.Recorder.Record(history.Op{Process: p, Type: history.Invoke, F: history.FAudit, Key: k}); err != nil {
			return fmt.Errorf("audit %s: %w", k, err)
		}
		v, _, gerr := st.Get(ctx, k)
		done := history.Op{Process: p, Type: history.Ok, F: history.FAudit, Key: k, Value: jsonInt(v)}
		if gerr != nil {
			done = history.Op{Process: p, Type: history.Fail, F: history.FAudit, Key: k, Error: gerr.Error()}
		}
		if _, err := env.Recorder.Record(done); err != nil {
			return fmt.Errorf("audit %s: %w", k, err)
		}
		if gerr != nil {
			out = errors.Join(out, fmt.Errorf("audit %s: %w", k, gerr))
		}
	}
	return out
}
