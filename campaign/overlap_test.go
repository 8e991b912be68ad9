package campaign

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
)

// fakeExecute stands in for harness.Execute in the tests of how a cell's
// runs overlap: each run releases its servers at once and then waits in
// its "teardown" until the test lets it go (or a second passes).
type fakeExecute struct {
	mu       sync.Mutex
	events   []string
	live     int // Executes under way
	maxLive  int
	finish   map[int64]chan struct{}
	released func(seed int64) error // the error a run ends with; nil for none
}

func (f *fakeExecute) log(format string, args ...any) {
	f.events = append(f.events, fmt.Sprintf(format, args...))
}

func (f *fakeExecute) run(ctx context.Context, cfg harness.Config) (store.RunResult, error) {
	seed := cfg.Plan.Seed
	f.mu.Lock()
	f.live++
	f.maxLive = max(f.maxLive, f.live)
	f.log("start %d", seed)
	var err error
	if f.released != nil {
		err = f.released(seed)
	}
	wait := f.finish[seed]
	f.mu.Unlock()
	cfg.Released(err)
	if wait != nil {
		select {
		case <-wait:
		case <-time.After(time.Second):
		}
	}
	f.mu.Lock()
	f.live--
	f.log("end %d", seed)
	f.mu.Unlock()
	return store.RunResult{ID: fmt.Sprint(seed), Cell: "c", Plan: cfg.Plan, Status: "valid"}, err
}

func withFakeExecute(t *testing.T, f *fakeExecute) {
	t.Helper()
	old := execute
	execute = f.run
	t.Cleanup(func() { execute = old })
}

// The next run of a cell starts while the one before it is still in its
// teardown, never while two are; the results keep the seeds' order.
func TestACellsNextRunStartsWhileThePreviousTearsDown(t *testing.T) {
	f := &fakeExecute{finish: map[int64]chan struct{}{1: make(chan struct{}), 2: make(chan struct{}), 3: make(chan struct{})}}
	// Run 1 finishes only once run 2 has started; run 2 only once run 3
	// has. Without the overlap, run 1 would wait its whole second.
	f.released = func(seed int64) error {
		if ch := f.finish[seed-1]; ch != nil {
			close(ch)
		}
		return nil
	}
	withFakeExecute(t, f)
	c := Cell{Name: "c", Seeds: []int64{1, 2, 3}}
	began := time.Now()
	cr, err := runCell(context.Background(), c, "n", "id", Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"start 1", "start 2", "end 1", "start 3", "end 2", "end 3"}
	if !slices.Equal(f.events, want) {
		t.Errorf("events %v, want %v", f.events, want)
	}
	if f.maxLive != 2 {
		t.Errorf("%d runs of the cell were under way at once, want 2", f.maxLive)
	}
	// Only the last run waits out its second.
	if took := time.Since(began); took > 1800*time.Millisecond {
		t.Errorf("the cell took %s: its runs did not overlap", took)
	}
	var seeds []int64
	for _, r := range cr.Runs {
		seeds = append(seeds, r.Seed)
	}
	if !slices.Equal(seeds, []int64{1, 2, 3}) {
		t.Errorf("runs in the order of seeds %v", seeds)
	}
}

// A run that ends because the engine stopped answering starts no further
// run of its cell, and the cell waits for it to finish.
func TestARunWithAStuckEngineStartsNoNextRun(t *testing.T) {
	stuck := &runtime.EngineError{Call: "ContainerCreate", Waited: time.Second}
	f := &fakeExecute{finish: map[int64]chan struct{}{}}
	f.released = func(seed int64) error {
		if seed == 2 {
			return fmt.Errorf("start cluster: %w", stuck)
		}
		return nil
	}
	withFakeExecute(t, f)
	c := Cell{Name: "c", Seeds: []int64{1, 2, 3}}
	cr, err := runCell(context.Background(), c, "n", "id", Options{StoreDir: t.TempDir()})
	if !errors.Is(err, runtime.ErrEngineStuck) {
		t.Fatalf("err %v, want the engine's", err)
	}
	if len(cr.Runs) != 2 || slices.Contains(f.events, "start 3") {
		t.Errorf("events %v, runs %d: want two runs and no third", f.events, len(cr.Runs))
	}
	if f.live != 0 {
		t.Errorf("%d runs still under way when the cell returned", f.live)
	}
}

// fakeSharedHosts is a runtime whose runs share machines (the SSH
// runtime's case); nothing else of it is called by these tests.
type fakeSharedHosts struct{ runtime.Runtime }

func (fakeSharedHosts) SharesHosts() bool { return true }

// On hosts that every run shares, a run starts only when the one before
// it has finished, teardown and all, and cells go one at a time whatever
// the file's parallel says.
func TestRunsOnSharedHostsNeverOverlap(t *testing.T) {
	// Runs 1 and 3 linger a second in their teardown.
	f := &fakeExecute{finish: map[int64]chan struct{}{1: make(chan struct{}), 3: make(chan struct{})}}
	withFakeExecute(t, f)
	cells := []Cell{{Name: "a", Seeds: []int64{1, 2}}, {Name: "b", Seeds: []int64{3, 4}}}
	if _, err := Run(context.Background(), "n", cells, 2, Options{StoreDir: t.TempDir(), Runtime: fakeSharedHosts{}}); err != nil {
		t.Fatal(err)
	}
	if f.maxLive != 1 {
		t.Errorf("%d runs under way at once on shared hosts, want 1 (events %v)", f.maxLive, f.events)
	}
	want := []string{"start 1", "end 1", "start 2", "end 2", "start 3", "end 3", "start 4", "end 4"}
	if !slices.Equal(f.events, want) {
		t.Errorf("events %v, want %v", f.events, want)
	}
}
