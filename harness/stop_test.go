package harness

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

func inmemoryOnThreeNodes(t *testing.T, limit, stop time.Duration) Config {
	cfg := DefaultConfig()
	cfg.Plan.Target, cfg.Plan.Client, cfg.Plan.TimeLimit = "inmemory", plan.ClientGo, limit
	cfg.Plan.Nodes = []plan.Node{{Name: "n1"}, {Name: "n2"}, {Name: "n3"}}
	cfg.Plan.StopAfterViolation = stop
	cfg.StoreDir = t.TempDir()
	return cfg
}

// A run on three in-memory mutexes that know nothing of each other
// breaks mutual exclusion at once: with --stop-after-violation 1s its
// workload ends a second after the first overlap rather than after its
// 30 s, and the run is still healed, probed and judged invalid on its
// whole history; results.json says when it stopped, and the reproduce
// command carries the flag.
func TestAnInvalidRunStopsTheGraceAfterItsFirstViolation(t *testing.T) {
	cfg := inmemoryOnThreeNodes(t, 30*time.Second, time.Second)
	begin := time.Now()
	res, err := Execute(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 12*time.Second {
		t.Fatalf("the run took %s; it should have stopped about a second after its first violation", took)
	}
	if res.Status != checker.Invalid {
		t.Fatalf("verdict %s, want invalid: %s", res.Status, res.Summary)
	}
	if res.StoppedEarlyAt <= res.WorkloadStart || res.StoppedEarlyAt < res.FirstViolation+int64(time.Second) {
		t.Errorf("stopped at %d ns; workload began at %d ns, first violation at %d ns", res.StoppedEarlyAt, res.WorkloadStart, res.FirstViolation)
	}
	var names []string
	for _, p := range res.Phases {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "workload heal quiesce liveness") {
		t.Errorf("phases %s: the run did not heal and probe after the workload", got)
	}
	if !strings.Contains(res.Command, "--stop-after-violation 1s") {
		t.Errorf("the reproduce command %q does not carry the flag", res.Command)
	}
	back, err := store.ReadRunResult(runDir(cfg, res))
	if err != nil {
		t.Fatal(err)
	}
	if back.StoppedEarlyAt != res.StoppedEarlyAt {
		t.Errorf("results.json says stopped at %d, the run %d", back.StoppedEarlyAt, res.StoppedEarlyAt)
	}
}

// Without the flag the same run goes on for its whole time limit.
func TestAnInvalidRunWithoutTheFlagRunsItsTimeLimit(t *testing.T) {
	cfg := inmemoryOnThreeNodes(t, 2*time.Second, 0)
	res, err := Execute(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != checker.Invalid || res.StoppedEarlyAt != 0 {
		t.Fatalf("verdict %s, stopped at %d; want invalid, not stopped", res.Status, res.StoppedEarlyAt)
	}
	for _, p := range res.Phases {
		if p.Name == "workload" && p.Seconds < 2 {
			t.Errorf("the workload took %g s of its 2 s", p.Seconds)
		}
	}
}

// A run judged by checkers that leave mutual exclusion out is not
// stopped by an overlap, which would not decide its verdict.
func TestARunJudgedWithoutMutualExclusionIsNotStopped(t *testing.T) {
	cfg := inmemoryOnThreeNodes(t, 2*time.Second, 100*time.Millisecond)
	cfg.Plan.Judge = []string{checker.NameLiveness}
	res, err := Execute(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.StoppedEarlyAt != 0 {
		t.Errorf("stopped at %d by an overlap that does not judge the run", res.StoppedEarlyAt)
	}
}

func runDir(cfg Config, res store.RunResult) string {
	return filepath.Join(cfg.StoreDir, res.Cell, res.ID)
}

// A run judged by its workload's own checker (the inventory's stock, on
// three in-memory mutexes that let two servers in at once) stops the
// grace after that checker's first violation, once the lock showed an
// overlap, and is judged invalid by it on its whole history.
func TestARunJudgedByItsWorkloadStopsAfterTheConsequence(t *testing.T) {
	cfg := inmemoryOnThreeNodes(t, 30*time.Second, time.Second)
	cfg.Plan.Workload = "inventory"
	cfg.Plan.Judge = []string{checker.NameInventory}
	begin := time.Now()
	res, err := Execute(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 12*time.Second {
		t.Fatalf("the run took %s; it should have stopped about a second after the stock went wrong", took)
	}
	if res.Status != checker.Invalid || res.StoppedEarlyAt == 0 {
		t.Fatalf("verdict %s, stopped at %d; want invalid, stopped early: %s", res.Status, res.StoppedEarlyAt, res.Summary)
	}
	if res.StoppedEarlyAt < res.FirstViolation+int64(time.Second) {
		t.Errorf("stopped at %d ns, less than the grace after the first violation at %d ns", res.StoppedEarlyAt, res.FirstViolation)
	}
}

// fakeConsequence is a test double of a workload's checker: it finds a
// "double-payment" at 1 ms in any history it is given.
func fakeConsequence(h history.History) checker.Result {
	return checker.Result{Checker: checker.NamePayment, Status: checker.Invalid,
		Anomalies: []checker.Anomaly{{Kind: checker.KindDoubleCharge, Start: int64(time.Millisecond), End: int64(time.Millisecond)}}}
}

// The workload's checker alone does not stop a run: a prefix can show it
// a job not run yet. Only once the lock shows an overlap does its first
// violation count, and only a checker the run is judged by.
func TestShownConsequenceWaitsForTheOverlap(t *testing.T) {
	read := func(name string) history.History {
		h, err := history.ReadFile(filepath.Join("..", "checker", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	fake := []func(history.History) checker.Result{fakeConsequence}
	if at, ok := shownConsequence(read("crash-then-expiry-valid.jsonl"), fake, []string{checker.NamePayment}); ok {
		t.Errorf("shown at %d in a history with no overlap", at)
	}
	overlap := read("mutex-overlap-invalid.jsonl")
	if _, ok := checker.ShownViolation(overlap); !ok {
		t.Fatal("mutex-overlap-invalid.jsonl shows no overlap to the watcher")
	}
	at, ok := shownConsequence(overlap, fake, []string{checker.NamePayment})
	if !ok || at != int64(time.Millisecond) {
		t.Errorf("shown %v at %d, want at the checker's first violation, 1 ms", ok, at)
	}
	if _, ok := shownConsequence(overlap, fake, []string{checker.NameInventory}); ok {
		t.Error("shown by a checker that does not judge the run")
	}
}
