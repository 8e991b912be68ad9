package workloads

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
)

// checkingForAll is freeForAll whose clients answer check requests: each
// says it lost its lock once lostAfter has passed since it was granted.
type checkingForAll struct {
	freeForAll
	lostAfter time.Duration
	checks    atomic.Int64
}

func (f *checkingForAll) Binding() targets.Binding { return f }
func (f *checkingForAll) NewClient(context.Context, targets.ClientEnv) (targets.Client, error) {
	return &checkingClient{freeClient: freeClient{f: &f.freeForAll, held: map[string]bool{}}, owner: f}, nil
}

type checkingClient struct {
	freeClient
	owner   *checkingForAll
	granted time.Time
}

func (c *checkingClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	c.granted = time.Now()
	return c.freeClient.Acquire(ctx, key)
}

func (c *checkingClient) CanCheck() bool { return true }
func (c *checkingClient) Check(context.Context, string) error {
	c.owner.checks.Add(1)
	if time.Since(c.granted) > c.owner.lostAfter {
		return fmt.Errorf("%w: the fake session ended", targets.ErrLost)
	}
	return nil
}

// countOps counts the completions of f that returned ok.
func countOps(h history.History, f string) int {
	n := 0
	for _, o := range h {
		if o.F == f && o.Type == history.Ok {
			n++
		}
	}
	return n
}

func TestHolderThatLearnsItLostTheLockStopsAndWritesNothing(t *testing.T) {
	t.Parallel()
	cfg := plan.Plan{Hold: 300 * time.Millisecond, Concurrency: 2}
	lost := &checkingForAll{lostAfter: 50 * time.Millisecond}
	h, _ := runWorkload(t, Mutex{}, lost, oneNode, cfg, time.Second)
	grants, writes := countOps(h, history.FAcquire), countOps(h, history.FWrite)
	// A holder whose work the end of the run cuts short writes, as
	// before: at most one per worker.
	if grants < 10 || writes > cfg.Concurrency || lost.checks.Load() == 0 {
		t.Fatalf("%d grants, %d writes, %d checks: want grants, checks, and no write after the client said it lost the lock",
			grants, writes, lost.checks.Load())
	}
	// The work stopped at the first check that said lost: within a
	// check interval of the loss, not at the end of the 300-ms hold.
	for _, hd := range holdSpans(h) {
		if hd > 200*time.Millisecond {
			t.Errorf("a hold lasted %s after its client said it lost the lock at 50ms", hd)
		}
	}
	kept := &checkingForAll{lostAfter: time.Hour}
	h, _ = runWorkload(t, Mutex{}, kept, oneNode, cfg, time.Second)
	if g, w := countOps(h, history.FAcquire), countOps(h, history.FWrite); g == 0 || w == 0 {
		t.Errorf("a client that keeps its lock: %d grants, %d writes, want both", g, w)
	}
}

// holdSpans returns, for each grant, the time to the same process's next
// release invoke.
func holdSpans(h history.History) []time.Duration {
	start := map[int]int64{}
	var out []time.Duration
	for _, o := range h {
		switch {
		case o.F == history.FAcquire && o.Type == history.Ok:
			start[o.Process] = o.Time
		case o.F == history.FRelease && o.Type == history.Invoke:
			if s, ok := start[o.Process]; ok {
				out = append(out, time.Duration(o.Time-s))
				delete(start, o.Process)
			}
		}
	}
	return out
}
