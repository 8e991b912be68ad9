package main

import (
	"context"
	"fmt"
	"math/rand"

	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
)

// Freeze freezes a whole node, every process in it, with the runtime's
// Pause (docker pause: the cgroup freezer), where lockstorm's pause stops
// only the server process. It is written against lockstorm's public API
// only, as any extension is: the five methods of nemesis.Nemesis, plus
// nemesis.Observer for the conformance checks.
type Freeze struct{}

// Freeze also implements the optional nemesis.Observer: Observe and Clean
// check the fault from outside, as lockstorm's conformance test does with
// every nemesis of its own.
var _ nemesis.Observer = Freeze{}

// Describe says what freeze is. It has no options, and needs nodes.
func (f Freeze) Describe() nemesis.Descriptor {
	return nemesis.Descriptor{
		Name:        "freeze",
		Description: "freeze one random node whole (docker pause), then thaw it (an extension's example)",
		Applies:     f.applies,
	}
}

// Plan draws the node; the window's length is the generator's.
func (Freeze) Plan(rng *rand.Rand, p schedule.PlanParams) (plan.Event, error) {
	if len(p.Nodes) == 0 {
		return plan.Event{}, fmt.Errorf("freeze: the run has no nodes")
	}
	return plan.Event{Targets: []string{p.Nodes[rng.Intn(len(p.Nodes))]}}, nil
}

// applies is freeze's Descriptor.Applies: a run whose clients are all in
// the harness and has no nodes has nothing to freeze.
func (Freeze) applies(env *nemesis.Env) error {
	if env.Plan.Client == plan.ClientGo && len(env.Plan.Nodes) == 0 {
		return fmt.Errorf("%w: no nodes", nemesis.ErrNotApplicable)
	}
	return nil
}

func (Freeze) Inject(ctx context.Context, env *nemesis.Env, ev plan.Event) (any, error) {
	return nil, env.Cluster.Pause(ctx, ev.Targets[0])
}

func (Freeze) Heal(ctx context.Context, env *nemesis.Env, ev plan.Event) (any, error) {
	return nil, env.Cluster.Unpause(ctx, ev.Targets[0])
}

func (Freeze) Teardown(ctx context.Context, env *nemesis.Env) error {
	if env.Cluster == nil {
		return nil
	}
	for _, n := range env.Cluster.Nodes() {
		if err := env.Cluster.Unpause(ctx, n.Name); err != nil {
			return err
		}
	}
	return nil
}

// Observe implements nemesis.Observer: a frozen node runs no command.
func (Freeze) Observe(ctx context.Context, env *nemesis.Env, ev plan.Event, _ any) error {
	if _, err := env.Cluster.Exec(ctx, ev.Targets[0], []string{"true"}, runtime.ExecOptions{}); err == nil {
		return fmt.Errorf("%s runs commands while frozen", ev.Targets[0])
	}
	return nil
}

// Clean implements nemesis.Observer: every node runs commands.
func (Freeze) Clean(ctx context.Context, env *nemesis.Env) error {
	for _, n := range env.Cluster.Nodes() {
		if _, err := env.Cluster.Exec(ctx, n.Name, []string{"true"}, runtime.ExecOptions{}); err != nil {
			return fmt.Errorf("%s: %w", n.Name, err)
		}
	}
	return nil
}
