package workloads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/targets"
)

// A worker is one client slot of a workload. It owns one process id at a
// time: after an indeterminate op the process is retired and the slot goes
// on as process id + concurrency, as in Jepsen.
type worker struct {
	ctx     context.Context // the workload's: ends with the time limit
	env     *Env
	slot    int
	process int
	client  targets.Client
	rng     *rand.Rand
	tick    time.Duration
	next    time.Time
	// broken is the error of a client that broke its own contract
	// (targets.ErrBrokenClient): the run stops on it.
	broken error
	// lost says that the client, asked while it worked under the lock,
	// answered that it no longer holds it (targets.Checker): the holder
	// stops and writes nothing more.
	lost bool
	// acquireCtx, if set, bounds every acquire: for a workload that runs
	// in phases, the phase, so that a waiting acquire ends with it.
	acquireCtx context.Context
	// store is the process's connection to the service's own data store
	// (Env.NewStore, for a StoreUser), closed with its client.
	store targets.Store
	// stride is what a retired process id steps by; 0 means the plan's
	// concurrency.
	stride int
}

// runWorkers starts the plan's Concurrency workers running body until ctx
// is done, waits for them, and closes their clients. body is one
// iteration; it returns an error only for a harness failure that should
// end the run.
func runWorkers(ctx context.Context, env *Env, body func(*worker) error) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	cfg := env.Plan
	n := cfg.Concurrency
	if n < 1 {
		n = 1
	}
	var tick time.Duration
	if cfg.Rate > 0 {
		tick = time.Duration(float64(n) / cfg.Rate * float64(time.Second))
	}
	var first error // the first harness failure; the others follow from it
	failed := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		w := &worker{
			ctx:     ctx,
			env:     env,
			slot:    i,
			process: i,
			rng:     rand.New(rand.NewSource(cfg.Seed*1000003 + int64(i))),
			tick:    tick,
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.closeClient()
			for ctx.Err() == nil {
				if !w.pace(ctx) {
					return
				}
				err := w.ensureClient()
				if err == nil {
					err = body(w)
				}
				if err == nil {
					err = w.broken
				}
				if err != nil {
					// A harness failure ends the run for every worker.
					mu.Lock()
					if first == nil {
						first = err
					}
					failed++
					mu.Unlock()
					stop()
					return
				}
			}
		}()
	}
	wg.Wait()
	if failed > 1 {
		return fmt.Errorf("%w (and %d more clients failed)", first, failed-1)
	}
	return first
}

// pace waits for the worker's next turn under the rate limit, with jitter.
// It returns false when ctx ends first.
func (w *worker) pace(ctx context.Context) bool {
	if w.tick <= 0 {
		return ctx.Err() == nil
	}
	now := time.Now()
	if w.next.IsZero() {
		// Spread the workers' first attempts over one tick.
		w.next = now.Add(time.Duration(w.rng.Int63n(int64(w.tick))))
	}
	if !wait.Until(ctx, w.next) {
		return false
	}
	jitter := time.Duration(w.rng.Int63n(int64(w.tick)/2+1)) - w.tick/4
	w.next = w.next.Add(w.tick + jitter)
	if behind := time.Since(w.next); behind > w.tick {
		w.next = time.Now() // do not burst to catch up
	}
	return true
}

func (w *worker) ensureClient() error {
	if w.client != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.opTimeout())
	defer cancel()
	c, err := w.env.NewClient(ctx, w.process)
	if err != nil {
		return fmt.Errorf("client for process %d: %w", w.process, err)
	}
	w.client = c
	return nil
}

func (w *worker) closeClient() {
	if w.client != nil {
		_ = w.client.Close()
		w.client = nil
	}
	if w.store != nil {
		_ = w.store.Close()
		w.store = nil
	}
}

// retire ends the worker's current process after an indeterminate op.
func (w *worker) retire() {
	w.closeClient()
	n := w.stride
	if n < 1 {
		n = max(w.env.Plan.Concurrency, 1)
	}
	w.process += n
}

func (w *worker) opTimeout() time.Duration {
	if d := w.env.Plan.OpTimeout; d > 0 {
		return d
	}
	return 10 * time.Second
}

// record appends op for the worker's process. A recorder error means the
// harness broke its own format: that is a bug, so it panics.
func (w *worker) record(op history.Op) history.Op {
	op.Process = w.process
	out, err := w.env.Recorder.Record(op)
	if err != nil {
		panic(fmt.Sprintf("lockstorm: %v", err))
	}
	return out
}

// acquire takes the lock on key, recording the invoke and completion. ok is
// true when the lock is held. After an indeterminate result the worker has
// already been retired.
func (w *worker) acquire(key string) (targets.Grant, bool) {
	lease := int64(w.env.Plan.Lease)
	w.record(history.Op{Type: history.Invoke, F: history.FAcquire, Key: key, Lease: lease, Node: w.client.Node()})
	parent := w.acquireCtx
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, w.opTimeout())
	g, err := w.client.Acquire(ctx, key)
	cancel()
	switch {
	case err == nil:
		w.record(history.Op{Type: history.Ok, F: history.FAcquire, Key: key, Lease: lease, Token: g.Token, Node: w.client.Node()})
		w.env.Faults.Holding(w.process, w.client.Node())
		w.lost = false
		return g, true
	case errors.Is(err, targets.ErrNotAcquired):
		w.record(history.Op{Type: history.Fail, F: history.FAcquire, Key: key, Lease: lease, Node: w.client.Node(), Error: err.Error()})
	default:
		w.record(history.Op{Type: history.Info, F: history.FAcquire, Key: key, Lease: lease, Node: w.client.Node(), Error: err.Error()})
		w.noteBroken(err)
		w.retire()
	}
	return targets.Grant{}, false
}

// release gives key back, recording the invoke and completion. It returns
// false when the worker was retired.
func (w *worker) release(key string) bool {
	w.record(history.Op{Type: history.Invoke, F: history.FRelease, Key: key, Node: w.client.Node()})
	w.env.Faults.Released(w.process)
	ctx, cancel := context.WithTimeout(context.Background(), w.opTimeout())
	err := w.client.Release(ctx, key)
	cancel()
	switch {
	case err == nil:
		w.record(history.Op{Type: history.Ok, F: history.FRelease, Key: key, Node: w.client.Node()})
	case errors.Is(err, targets.ErrNotHeld):
		w.record(history.Op{Type: history.Fail, F: history.FRelease, Key: key, Node: w.client.Node(), Error: err.Error()})
	default:
		w.record(history.Op{Type: history.Info, F: history.FRelease, Key: key, Node: w.client.Node(), Error: err.Error()})
		w.noteBroken(err)
		w.retire()
		return false
	}
	return true
}

// noteBroken keeps err if it says that the client broke its contract.
func (w *worker) noteBroken(err error) {
	if errors.Is(err, targets.ErrBrokenClient) && w.broken == nil {
		w.broken = err
	}
}

// crash abandons the worker's session while it holds key, as a crashed
// client would: a release invoke completed by info, then a new process.
func (w *worker) crash(key string) {
	w.record(history.Op{Type: history.Invoke, F: history.FRelease, Key: key, Node: w.client.Node()})
	w.env.Faults.Released(w.process)
	w.client.Abandon()
	w.record(history.Op{Type: history.Info, F: history.FRelease, Key: key, Node: w.client.Node(), Error: "client crashed"})
	w.client = nil // abandoned: never closed, so nothing is released
	w.retire()
}

// afterAcquire applies an armed client fault. It returns false when the
// holder crashed and must not go on.
func (w *worker) afterAcquire(key string) bool {
	a := w.env.Faults.AfterAcquire(w.process, key)
	if a.Crash {
		w.crash(key)
		return false
	}
	switch {
	case a.Stall > 0 && a.Work:
		w.work(key, a.Stall)
		a.Done()
	case a.Stall > 0:
		w.stall(a.Stall)
		a.Done()
	}
	return true
}

// stall holds the holder still for d: a client process is frozen whole
// (every thread, its lock library's renewals too) and thawed after d; a
// client in the harness only stops working for d. The worker waits
// either way, so nothing is written while the holder is frozen.
func (w *worker) stall(d time.Duration) {
	f, ok := w.client.(targets.Freezer)
	if !ok {
		wait.Sleep(w.ctx, d)
		return
	}
	if err := f.Freeze(w.ctx); err != nil {
		w.env.Log.Warn("freeze the holder", "process", w.process, "err", err)
	}
	wait.Sleep(w.ctx, d)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 10*time.Second)
	defer cancel()
	if err := f.Thaw(ctx); err != nil {
		w.env.Log.Warn("thaw the holder", "process", w.process, "err", err)
	}
}

// write records a write of v to the trusted resource with the holder's
// token. A fenced resource may reject it; that is recorded as a fail.
func (w *worker) write(res *Resource, key string, token *int64, v int64) bool {
	w.record(history.Op{Type: history.Invoke, F: history.FWrite, Key: key, Token: token, Value: jsonInt(v)})
	if err := res.Write(key, token, v); err != nil {
		w.record(history.Op{Type: history.Fail, F: history.FWrite, Key: key, Token: token, Value: jsonInt(v), Error: err.Error()})
		return false
	}
	w.record(history.Op{Type: history.Ok, F: history.FWrite, Key: key, Token: token, Value: jsonInt(v)})
	return true
}

func jsonInt(v int64) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// checkEvery is how often a holder whose client can tell asks whether it
// still holds its lock.
const checkEvery = 50 * time.Millisecond

// work is the critical section on key: it waits d, or until the run ends,
// so that a long hold never keeps a run past its time limit or a Ctrl-C.
// A client that can tell whether it still holds the lock
// (targets.Checker) is asked every checkEvery; once it says it lost the
// lock, the work stops and the worker is marked lost. A client fault armed
// while the holder works strikes at once: a stall, as a stop-the-world
// pause does, after which the work takes up again where it stopped; a
// stretch of work (the holder cut off while it works on), which keeps the
// work going for at least that long.
func (w *worker) work(key string, d time.Duration) {
	if w.lost {
		return
	}
	var stretches []Action // taken here; done when the work ends
	defer func() {
		for _, a := range stretches {
			a.Done()
		}
	}()
	ch, ok := w.client.(targets.Checker)
	checks := ok && ch.CanCheck()
	end := time.Now().Add(d)
	for {
		if checks {
			ctx, cancel := context.WithTimeout(w.ctx, w.opTimeout())
			err := ch.Check(ctx, key)
			cancel()
			if errors.Is(err, targets.ErrLost) {
				w.lost = true
				w.env.Log.Debug("holder learnt it lost its lock", "process", w.process, "key", key, "err", err)
				return
			}
		}
		left := time.Until(end)
		if left <= 0 {
			return
		}
		if checks {
			left = min(left, checkEvery)
		}
		t := time.NewTimer(left)
		select {
		case <-w.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-w.env.Faults.AtWorkArmed():
			t.Stop()
			a, ok := w.env.Faults.DuringWork(w.process, key)
			switch {
			case !ok:
			case a.Work:
				if until := time.Now().Add(a.Stall); until.After(end) {
					end = until
				}
				stretches = append(stretches, a)
			default:
				began := time.Now()
				w.stall(a.Stall)
				a.Done()
				end = end.Add(time.Since(began))
			}
		}
	}
}
