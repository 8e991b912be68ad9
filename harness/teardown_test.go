package harness

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/runtime"
)

// failingCluster is a fake cluster whose teardown fails, as on an engine
// that stopped answering; the teardown calls nothing else of it.
type failingCluster struct{ runtime.Cluster }

func (failingCluster) RunID() string { return "r-1" }

func (failingCluster) Teardown(context.Context) error {
	return errors.New("teardown r-1: the container engine did not answer DELETE /containers/abc within 1m0s")
}

// A teardown that fails is recorded as the run's leftover, with what may
// be left and the command that removes it.
func TestAFailedTeardownIsRecordedAsALeftover(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Plan.Target = "inmemory"
	resolved, err := Resolve(cfg.Plan)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{cfg: cfg, Resolved: resolved, log: slog.New(slog.DiscardHandler), cluster: failingCluster{}}
	r.teardown()
	l := r.res.Leftover
	if l == nil {
		t.Fatal("a failed teardown left no record")
	}
	if l.Label != runtime.LabelRun+"=r-1" || l.Command != "lockstorm clean" || !strings.Contains(l.Error, "did not answer") {
		t.Errorf("leftover = %+v", *l)
	}
	if r.cluster != nil {
		t.Error("the cluster is kept after its teardown, so a second teardown would try again")
	}
}
