package workloads

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/inmemory"
)

// The use-case workloads run here against the in-memory target: with one
// node it is a correct lock, with three it is broken (each node has its own
// lock table). freeForAll is a broken lock that hands out increasing
// fencing tokens, to show fencing keep the data safe.

var oneNode = []string{"n1"}
var threeNodes = []string{"n1", "n2", "n3"}

// runWorkload runs w for d against target t set up with nodes, and judges
// the history with the lock checkers and the workload's own.
func runWorkload(t *testing.T, w Workload, tgt targets.Service, nodes []string, cfg plan.Plan, d time.Duration) (history.History, checker.Report) {
	t.Helper()
	return runWithFaults(t, w, tgt, nodes, cfg, d, nil)
}

// runWithFaults is runWorkload with a nemesis that gets the client faults
// while the workload runs.
func runWithFaults(t *testing.T, w Workload, tgt targets.Service, nodes []string, cfg plan.Plan, d time.Duration,
	nemesis func(context.Context, *ClientFaults)) (history.History, checker.Report) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("LOCKSTORM_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	for _, n := range nodes {
		cfg.Nodes = append(cfg.Nodes, plan.Node{Name: n})
	}
	if cfg.Wait == 0 {
		cfg.Wait = time.Second
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 6
	}
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	if cfg.OpTimeout == 0 {
		cfg.OpTimeout = 5 * time.Second
	}
	if cfg.Keys == 0 {
		cfg.Keys = 1
	}
	if _, err := tgt.Setup(ctx, &targets.Env{Plan: &cfg, Log: log}); err != nil {
		t.Fatal(err)
	}
	defer tgt.Teardown(ctx)
	rec := history.NewRecorder(io.Discard, time.Now())
	env := &Env{Plan: &cfg, Recorder: rec, Faults: NewClientFaults(), Log: log,
		NewClient: func(ctx context.Context, process int) (targets.Client, error) {
			return tgt.Binding().NewClient(ctx, targets.ClientEnv{Plan: &cfg, Process: process, Node: cfg.NodeFor(process), Log: log})
		}}
	if st, ok := targets.StockerOf(tgt); ok {
		env.Decrements = st.Decrements()
		env.NewStore = func(ctx context.Context, process int) (targets.Store, error) {
			return st.NewStore(ctx, targets.ClientEnv{Plan: &cfg, Process: process, Node: cfg.NodeFor(max(process, 0)), Log: log})
		}
	}
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	if nemesis != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nemesis(rctx, env.Faults)
		}()
	}
	defer wg.Wait()
	if err := w.Run(rctx, env); err != nil {
		t.Fatalf("run %s: %v", w.Name(), err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	h := rec.History()
	return h, checker.Check(h, checker.Options{Budget: 20 * time.Second, Extra: w.Checkers(&cfg)})
}

// result picks one checker's result out of a report.
func result(t *testing.T, rep checker.Report, name string) checker.Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Checker == name {
			return r
		}
	}
	t.Fatalf("no %s result in the report", name)
	return checker.Result{}
}

func details(t *testing.T, r checker.Result, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Details, v); err != nil {
		t.Fatalf("%s details %s: %v", r.Checker, r.Details, err)
	}
}

// freeForAll is a lock that grants every acquire at once, with a fresh,
// larger token each time: mutual exclusion is gone, but the tokens are
// right, so a fenced resource can still order the holders.
type freeForAll struct {
	next atomic.Int64
}

func (*freeForAll) Name() string { return "free-for-all" }
func (*freeForAll) Describe() targets.Descriptor {
	return targets.Descriptor{Description: "grants every acquire, with increasing tokens", DefaultNodes: 1}
}
func (*freeForAll) Prepare(*plan.Plan) (time.Duration, error)                  { return 0, nil }
func (*freeForAll) Setup(context.Context, *targets.Env) (time.Duration, error) { return 0, nil }
func (f *freeForAll) Binding() targets.Binding                                 { return f }
func (*freeForAll) Teardown(context.Context) error                             { return nil }
func (*freeForAll) HasTokens() bool                                            { return true }
func (f *freeForAll) NewClient(context.Context, targets.ClientEnv) (targets.Client, error) {
	return &freeClient{f: f, held: map[string]bool{}}, nil
}

type freeClient struct {
	f    *freeForAll
	mu   sync.Mutex
	held map[string]bool
}

func (c *freeClient) Acquire(_ context.Context, key string) (targets.Grant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held[key] = true
	return targets.Grant{Token: history.Tok(c.f.next.Add(1))}, nil
}

func (c *freeClient) Release(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.held[key] {
		return targets.ErrNotHeld
	}
	delete(c.held, key)
	return nil
}

func (*freeClient) Node() string { return "n1" }
func (*freeClient) Abandon()     {}
func (*freeClient) Close() error { return nil }

func TestInventoryCorrectLockLosesNothing(t *testing.T) {
	t.Parallel()
	cfg := plan.Plan{Hold: time.Millisecond, Keys: 2}
	_, rep := runWorkload(t, Inventory{}, inmemory.New(), oneNode, cfg, time.Second)
	r := result(t, rep, "inventory")
	var d checker.InventoryDetails
	details(t, r, &d)
	if rep.Status != checker.Valid || r.Status != checker.Valid {
		t.Fatalf("report %s, inventory %s: %s", rep.Status, r.Status, r.Summary)
	}
	if d.Deductions == 0 || d.Final == nil || *d.Final != 2*DefaultStock-int64(d.Deductions) {
		t.Errorf("details %+v: want the audited stock to fall by exactly the deductions", d)
	}
}

func TestInventoryBrokenLockLosesDeductions(t *testing.T) {
	t.Parallel()
	cfg := plan.Plan{Hold: 2 * time.Millisecond, Keys: 1}
	_, rep := runWorkload(t, Inventory{}, inmemory.New(), threeNodes, cfg, time.Second)
	r := result(t, rep, "inventory")
	var d checker.InventoryDetails
	details(t, r, &d)
	if r.Status != checker.Invalid || d.LostUpdates == 0 {
		t.Fatalf("inventory %s (%s), want lost deductions under a broken lock", r.Status, r.Summary)
	}
	if me := result(t, rep, "mutual-exclusion"); me.Status != checker.Invalid {
		t.Errorf("deductions were lost, yet mutual exclusion is %s", me.Status)
	}
	if d.Final == nil || int64(d.Deductions)-(DefaultStock-*d.Final) != int64(d.LostUpdates) {
		t.Errorf("details %+v: lost updates must be the deductions the stock does not show", d)
	}
}

func TestInventoryDecrementOversells(t *testing.T) {
	t.Parallel()
	cfg := plan.Plan{Hold: 2 * time.Millisecond, Keys: 1, Variant: InventoryDecrement,
		Options: option.Values{"inventory.stock": "40"}}
	_, rep := runWorkload(t, Inventory{}, inmemory.New(), threeNodes, cfg, time.Second)
	r := result(t, rep, "inventory")
	var d checker.InventoryDetails
	details(t, r, &d)
	if r.Status != checker.Invalid || d.Negative == 0 || d.LostUpdates != 0 || d.Initial != 40 {
		t.Fatalf("inventory %s %+v (%s), want negative stock and no lost update", r.Status, d, r.Summary)
	}
}

func TestFencingKeepsTheDataSafe(t *testing.T) {
	t.Parallel()
	cases := []struct {
		w       Workload
		cfg     plan.Plan
		checker string
	}{
		{Inventory{}, plan.Plan{Hold: time.Millisecond}, "inventory"},
		{Payment{}, plan.Plan{Hold: time.Millisecond, Variant: PaymentLock, Options: option.Values{"payment.orders": "2"}}, "payment"},
		{ScheduledJobs{}, plan.Plan{Hold: time.Millisecond, Options: option.Values{"scheduled-jobs.tick": "20ms"}}, "scheduled-jobs"},
		{LeaderElection{}, plan.Plan{Options: option.Values{"leader-election.term": "100ms", "leader-election.pace": "5ms"}}, "leader-election"},
	}
	for _, c := range cases {
		t.Run(c.w.Name(), func(t *testing.T) {
			t.Parallel()
			open := c.cfg
			_, rep := runWorkload(t, c.w, &freeForAll{}, oneNode, open, time.Second)
			if r := result(t, rep, c.checker); r.Status != checker.Invalid {
				t.Fatalf("without fencing, %s is %s (%s); the lock is broken, so the data should suffer", c.checker, r.Status, r.Summary)
			}
			fenced := c.cfg
			fenced.Fencing = true
			_, rep = runWorkload(t, c.w, &freeForAll{}, oneNode, fenced, time.Second)
			r := result(t, rep, c.checker)
			var d struct {
				Fenced int `json:"fenced"`
			}
			details(t, r, &d)
			if r.Status != checker.Valid || d.Fenced == 0 {
				t.Errorf("with fencing, %s is %s with %d fenced accesses (%s), want valid and some rejected", c.checker, r.Status, d.Fenced, r.Summary)
			}
			if me := result(t, rep, "mutual-exclusion"); me.Status != checker.Invalid {
				t.Errorf("mutual exclusion is %s; the free-for-all lock should break it", me.Status)
			}
		})
	}
}

// Bad variants are refused by CheckVariant and bad option values by the
// workloads' declarations, before a run starts.
func TestBadOptionsAndVariants(t *testing.T) {
	variants := []struct {
		w       Workload
		variant string
	}{{Inventory{}, "nope"}, {ScheduledJobs{}, "lock"}, {Mutex{}, "fast"}}
	for _, c := range variants {
		if err := CheckVariant(c.w, c.variant); !errors.Is(err, ErrUnknownVariant) {
			t.Errorf("%s --variant %s: %v, want ErrUnknownVariant", c.w.Name(), c.variant, err)
		}
	}
	if err := CheckVariant(Payment{}, PaymentBoth); err != nil {
		t.Errorf("payment both: %v", err)
	}
	opts := []struct {
		w      Workload
		values option.Values
	}{
		{Inventory{}, option.Values{"inventory.stock": "-1"}},
		{Payment{}, option.Values{"payment.orders": "zero"}},
		{ScheduledJobs{}, option.Values{"scheduled-jobs.tick": "0s"}},
		{LeaderElection{}, option.Values{"leader-election.pace": "fast"}},
	}
	for _, c := range opts {
		owners := []option.Owner{{Kind: "workload", Name: c.w.Name(), Specs: c.w.Options()}}
		if err := option.Check(owners, c.values); !errors.Is(err, option.ErrBadOption) {
			t.Errorf("%s with %v: %v, want ErrBadOption", c.w.Name(), c.values, err)
		}
	}
}

func TestClientCrashBetweenCheckAndAct(t *testing.T) {
	for _, w := range []Workload{Inventory{}, Payment{}, ScheduledJobs{}, LeaderElection{}} {
		t.Run(w.Name(), func(t *testing.T) {
			t.Parallel()
			cfg := plan.Plan{Hold: time.Millisecond, Options: option.Values{"scheduled-jobs.tick": "20ms",
				"leader-election.term": "50ms", "leader-election.pace": "5ms"}}
			victim := make(chan Victim, 1)
			h, rep := runWithFaults(t, w, inmemory.New(), oneNode, cfg, 500*time.Millisecond,
				func(ctx context.Context, f *ClientFaults) {
					if v, err := f.Crash(ctx); err == nil {
						victim <- v
					}
				})
			var v Victim
			select {
			case v = <-victim:
			default:
				t.Fatal("no holder took the crash")
			}
			crashed := false
			for _, o := range h {
				if o.Process == v.Process && o.F == history.FRelease && o.Type == history.Info && o.Error == "client crashed" {
					crashed = true
				}
				if crashed && o.Process == v.Process && o.Type == history.Invoke && o.F != history.FRelease {
					t.Errorf("process %d acted after its crash: %v", v.Process, o)
				}
			}
			if !crashed {
				t.Errorf("no crash of process %d recorded", v.Process)
			}
			// The in-memory lock has no expiry, so the crashed holder's key
			// stays taken; the data itself must still be safe.
			if r := result(t, rep, w.Name()); r.Status == checker.Invalid { // each checker is named after its workload
				t.Errorf("%s is invalid after a crash: %s", r.Checker, r.Summary)
			}
		})
	}
}
