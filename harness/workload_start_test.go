package harness

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

// A run records when its workload began on the history's clock, after the
// setup, so that a time to first violation can leave the setup out: every
// operation of the history comes at or after it.
func TestExecuteRecordsWhenTheWorkloadBegan(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Plan.Target, cfg.Plan.Client, cfg.Plan.TimeLimit = "inmemory", plan.ClientGo, 300*time.Millisecond
	cfg.StoreDir = t.TempDir()
	res, err := Execute(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.WorkloadStart <= 0 || res.WorkloadStart > int64(res.Duration) {
		t.Fatalf("workload start %d ns in a run of %s", res.WorkloadStart, res.Duration)
	}
	h, err := history.ReadFile(filepath.Join(cfg.StoreDir, res.Cell, res.ID, store.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(h) == 0 {
		t.Fatal("empty history")
	}
	if first := h[0].Time; first < res.WorkloadStart {
		t.Errorf("the first operation at %d ns came before the workload began at %d ns", first, res.WorkloadStart)
	}
	back, err := store.ReadRunResult(filepath.Join(cfg.StoreDir, res.Cell, res.ID))
	if err != nil {
		t.Fatal(err)
	}
	if back.WorkloadStart != res.WorkloadStart {
		t.Errorf("results.json says the workload began at %d ns, the run %d ns", back.WorkloadStart, res.WorkloadStart)
	}
}
