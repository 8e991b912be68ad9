package main

import (
	"context"
	"fmt"
	"math/rand"

	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
)

// Freeze freezes a whole node, every process in it, with the runtime's
// Pause (docker pause: the cgroup freezer), where lockstorm's pause stops
// only the server process. It is written against lockstorm's public API
// only, as any extension is.
type Freeze struct{}

func (Freeze) Name() string { return "freeze" }
func (Freeze) Description() string {
	return "freeze one random node whole (docker pause), then thaw it (an extension's example)"
}
func (Freeze) Options() []option.Spec {
	return nil
}

// Plan draws the node; the window's length is the generator's.
func (Freeze) Plan(rng *rand.Rand, p schedule.PlanParams) (plan.Event, error) {
	if len(p.Nodes) == 0 {
		return plan.Event{}, fmt.Errorf("freeze: the run has no nodes")
	}
	return plan.Event{Targets: []string{p.Nodes[rng.Intn(len(p.Nodes))]}}, nil
}

func (Freeze) Applicable(env *nemesis.Env) error {
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

// Observe: a frozen node runs no command.
func (Freeze) Observe(ctx context.Context, env *nemesis.Env, ev plan.Event, _ any) error {
	if _, err := env.Cluster.Exec(ctx, ev.Targets[0], []string{"true"}, runtime.ExecOptions{}); err == nil {
		return fmt.Errorf("%s runs commands while frozen", ev.Targets[0])
	}
	return nil
}

// Clean: every node runs commands.
func (Freeze) Clean(ctx context.Context, env *nemesis.Env) error {
	for _, n := range env.Cluster.Nodes() {
		if _, err := env.Cluster.Exec(ctx, n.Name, []string{"true"}, runtime.ExecOptions{}); err != nil {
			return fmt.Errorf("%s: %w", n.Name, err)
		}
	}
	return nil
}
