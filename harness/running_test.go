package harness

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/store"
)

// A run is shown as running (store.Running) while Execute works on it,
// and not once Execute has returned.
func TestARunIsRunningUntilExecuteReturns(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Plan.Target, cfg.Plan.TimeLimit, cfg.StoreDir = "inmemory", 500*time.Millisecond, t.TempDir()
	var dir string
	var during bool
	cfg.Phase = func(p string) {
		if p != "workload" {
			return
		}
		logs, _ := filepath.Glob(filepath.Join(cfg.StoreDir, "*", "*", store.LogFile))
		if len(logs) == 1 {
			dir = filepath.Dir(logs[0])
			during = store.Running(dir)
		}
	}
	if _, err := Execute(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if dir == "" {
		t.Fatal("no run.log was found in the workload phase")
	}
	if !during {
		t.Error("the run was not running during its workload")
	}
	if store.Running(dir) {
		t.Error("the run is still running after Execute returned")
	}
}
