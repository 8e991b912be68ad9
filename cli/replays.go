package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
)

// A trial is one run that margin or shrink made to ask whether the lock
// breaks: its seed, where it is and its verdict (store.Trial).
type trial = store.Trial

// runTrial runs p with cfg (its store, runtime and client binary) and
// returns its verdict. A setting the harness refuses is a usage error; a
// run that breaks off or whose teardown fails stops the search: its
// verdict is no answer.
func runTrial(ctx context.Context, cfg harness.Config, p plan.Plan) (trial, error) {
	cfg.Plan = p
	res, err := harness.Execute(ctx, cfg)
	t := trial{Seed: p.Seed, Status: res.Status}
	if res.ID != "" {
		t.Dir = filepath.Join(cfg.StoreDir, res.Cell, res.ID)
	}
	switch {
	case errors.Is(err, harness.ErrBadConfig):
		return t, flagErr(err)
	case err != nil:
		return t, err
	case res.Leftover != nil:
		return t, &exitError{code: exitInfra, err: fmt.Errorf("the teardown of run %s failed: %s", t.Dir, res.Leftover.Error)}
	}
	return t, nil
}

// replayPlan returns the plan of a finished run as input to run it again:
// the nodes by name only, and the lease left for the service to expect
// again. Everything else, the hold included, is the figure the run used,
// as its reproduce command gives it.
func replayPlan(p plan.Plan) plan.Plan {
	q := p
	q.Nodes = nil
	for i := range p.Nodes {
		q.Nodes = append(q.Nodes, plan.Node{Name: runtime.NodeName(i + 1)})
	}
	q.Lease, q.HoldAuto = 0, false
	q.Options = map[string]string{}
	for k, v := range p.Options {
		q.Options[k] = v
	}
	q.Schedule = plan.Schedule{}
	q.ScheduleFile = ""
	return q
}

// storeOf is the store of trials under dir.
func storeOf(dir string) string { return filepath.Join(dir, "runs") }
