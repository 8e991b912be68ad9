package harness

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

func phaseNames(ps []store.Phase) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// A run records where its time went: every phase it went through, in
// order, with its length, in its results and in results.json; the
// workload's phase lasts about its time limit.
func TestExecuteRecordsEveryPhaseInOrder(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Plan.Target, cfg.Plan.Client, cfg.Plan.TimeLimit = "inmemory", plan.ClientGo, 300*time.Millisecond
	cfg.StoreDir = t.TempDir()
	res, err := Execute(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"setup", "workload", "heal", "quiesce", "liveness", "check", "report"}
	if got := phaseNames(res.Phases); !slices.Equal(got, want) {
		t.Fatalf("phases %v, want %v", got, want)
	}
	for _, p := range res.Phases {
		if p.Seconds < 0 {
			t.Errorf("phase %s took %g s", p.Name, p.Seconds)
		}
		if p.Name == "workload" && (p.Seconds < 0.3 || p.Seconds > 5) {
			t.Errorf("the workload of 300ms took %g s", p.Seconds)
		}
	}
	back, err := store.ReadRunResult(filepath.Join(cfg.StoreDir, res.Cell, res.ID))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Phases, res.Phases) {
		t.Errorf("results.json has phases %v, the run %v", back.Phases, res.Phases)
	}
}

// The node image is timed as a phase of its own, before the run's clock
// starts, and comes before the cluster.
func TestExecuteRecordsTheImageAsTheFirstPhase(t *testing.T) {
	rt := &fakeImageRuntime{build: 200 * time.Millisecond}
	res, err := Execute(context.Background(), imageTestConfig(t, rt))
	if !errors.Is(err, ErrInfrastructure) {
		t.Fatalf("Execute: %v, want the fake's start error", err)
	}
	got := phaseNames(res.Phases)
	if got[0] == "provision" { // redis brings its server when asked for a version
		got, res.Phases = got[1:], res.Phases[1:]
	}
	if len(got) < 2 || got[0] != "image" || got[1] != "cluster" {
		t.Fatalf("phases %v, want image then cluster first", got)
	}
	if s := res.Phases[0].Seconds; s < 0.2 {
		t.Errorf("the image took %g s, want at least the fake's 0.2 s", s)
	}
}

// Released is called once, when the run needs its servers no longer:
// after the liveness probe and before the history is checked, so that a
// campaign's next run can set up while this one tears down.
func TestReleasedComesAfterTheProbeAndBeforeTheCheck(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Plan.Target, cfg.Plan.Client, cfg.Plan.TimeLimit = "inmemory", plan.ClientGo, 300*time.Millisecond
	cfg.StoreDir = t.TempDir()
	var calls int
	var phases []string
	var status string
	cfg.Phase = func(p string) { phases = append(phases, p) }
	cfg.Released = func(err error) {
		calls++
		if err != nil {
			t.Errorf("released with %v", err)
		}
		phases = append(phases, "released")
		latest, _ := filepath.Glob(filepath.Join(cfg.StoreDir, "*", "*", store.ResultsFile))
		if len(latest) == 1 {
			if rr, err := store.ReadRunResult(filepath.Dir(latest[0])); err == nil {
				status = string(rr.Status)
			}
		}
	}
	if _, err := Execute(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("Released called %d times, want once", calls)
	}
	i := slices.Index(phases, "released")
	if i < 1 || phases[i-1] != "liveness" || !slices.Contains(phases[i:], "check") {
		t.Errorf("phases %v: want released between liveness and check", phases)
	}
	if status != "unknown" {
		t.Errorf("results.json said %q when the run was released, want the run not judged yet (unknown)", status)
	}
}
