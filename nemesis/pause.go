package nemesis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"strings"
	"sync"

	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
)

// Pause stops the target's server processes with SIGSTOP and resumes them
// with SIGCONT, as Jepsen's pause nemesis does: the process keeps its
// sockets and its memory, the kernel still accepts connections for it, and
// it answers nothing until resumed, like a long GC pause or a VM stall on
// the server side. Unlike docker pause, only the server stops; the node's
// other processes (and Exec) keep working.
//
// Modes (option pause.mode, a mode or a comma list to draw from): one,
// minority, majority, all, holder (the node the current lock holder talks
// to, found when the fault starts) and primaries (the nodes the target
// names as primaries when the fault starts). Without the option, half of
// the pauses aim at the holder and the rest draw one, minority, majority
// or all; primaries is drawn only when the option names it, because a plan
// is drawn without knowing the target.
//
// The pause lasts pause.duration if given, else half to all of the
// generator's window. A pause shorter than the lease shows nothing, so when
// the run has a lease the pause lasts at least 1.5×lease+1s, as far as the
// window allows.
type Pause struct{}

// pauseName is the name of Pause.
const pauseName = "pause"

// The options of pause.
var (
	pauseModeOpt = modeOption("pause", append(slices.Clone(nodeModes), modeHolder),
		"the nodes whose servers stop (default: half holder, half one, minority, majority or all)")
	pauseDurationOpt = durationOption("pause")
)

// Describe implements Nemesis.
func (p Pause) Describe() Descriptor {
	return Descriptor{
		Name:        pauseName,
		Description: "stop server processes with SIGSTOP for longer than the lease, then SIGCONT (one, minority, majority, all, primaries, holder)",
		Options:     option.Specs(pauseModeOpt, pauseDurationOpt),
		Applies:     p.applies,
	}
}

// Plan draws the mode, the nodes and the length of the pause.
func (Pause) Plan(rng *rand.Rand, p schedule.PlanParams) (plan.Event, error) {
	return planNodeFault(rng, p, "pause", pauseModeOpt, pauseDurationOpt)
}

// planNodeFault draws a node-set mode, its nodes and a duration.
func planNodeFault(rng *rand.Rand, p schedule.PlanParams, name string, modeOpt option.Choice, durOpt option.Duration) (plan.Event, error) {
	mode, err := drawAimedMode(rng, modeOpt, p.Opts, drawnNodeModes)
	if err != nil {
		return plan.Event{}, err
	}
	if mode != modePrimaries && mode != modeHolder && len(p.Nodes) == 0 {
		return plan.Event{}, fmt.Errorf("%s %s: the run has no nodes", name, mode)
	}
	nodes, err := pickByMode(rng, mode, p.Nodes)
	if err != nil {
		return plan.Event{}, err
	}
	return plan.Event{Mode: mode, Targets: nodes, Duration: drawDuration(rng, p, durOpt)}, nil
}

// applies is Pause's Descriptor.Applies: the target must name its server
// processes.
func (p Pause) applies(env *Env) error {
	if err := needsCluster(pauseName, env); err != nil {
		return err
	}
	if _, err := servers(pauseName, env); err != nil {
		return err
	}
	return checkPrimariesOpt(pauseName, pauseModeOpt, env)
}

// pausedProcs is what Inject keeps for Heal and Observe: node → PIDs
// stopped there.
type pausedProcs map[string][]string

// Inject stops the server processes on the event's nodes and returns once
// every thread of each is stopped.
func (p Pause) Inject(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	s, err := servers(pauseName, env)
	if err != nil {
		return nil, err
	}
	nodes, err := resolveNodes(ctx, env, ev.Mode, ev.Targets)
	if err != nil {
		return nil, fmt.Errorf("pause %s: %w", ev.Mode, err)
	}
	const body = procStates + `pids=$(pgrep -x -- "$1") || { echo "no $1 process" >&2; exit 3; }
kill -STOP $pids
i=0
while :; do
  out=$(states $pids)
  if [ -n "$out" ] && ! echo "$out" | grep -qv ' [TZ]$'; then echo "$out"; exit 0; fi
  i=$((i+1))
  if [ $i -ge 200 ]; then echo "not stopped after 2s: $out" >&2; exit 4; fi
  sleep 0.01
done`
	paused := pausedProcs{}
	var mu sync.Mutex
	err = onNodes(nodes, func(node string) error {
		out, err := script(ctx, env.Cluster, node, body, nil, s.ServerProcess(node))
		pids := slices.Sorted(maps.Keys(parseStates(out)))
		mu.Lock()
		defer mu.Unlock()
		// Every node is kept, even one that failed, so that Heal resumes
		// it.
		paused[node] = pids
		return err
	})
	env.stash(ev, paused)
	if err != nil {
		return nil, fmt.Errorf("pause %s: %w", ev.Mode, err)
	}
	return map[string]any{"nodes": nodes, "pids": paused}, nil
}

// Heal resumes the server processes on the event's nodes.
func (p Pause) Heal(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	nodes := ev.Targets
	if v, ok := env.take(ev); ok {
		nodes = nil
		for n := range v.(pausedProcs) {
			nodes = append(nodes, n)
		}
		nodes = inNodeOrder(nodes, env.nodes())
	}
	if len(nodes) == 0 {
		nodes = env.nodes()
	}
	if err := resumeServers(ctx, env, nodes); err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	return nil, nil
}

// Teardown resumes every stopped server process on every node.
func (p Pause) Teardown(ctx context.Context, env *Env) error {
	if env.Cluster == nil {
		return nil
	}
	if _, ok := env.Service.(targets.Servers); !ok {
		return nil
	}
	return resumeServers(ctx, env, env.nodes())
}

// resumeServers sends SIGCONT to the server processes on nodes and checks
// that none of them is stopped afterwards.
func resumeServers(ctx context.Context, env *Env, nodes []string) error {
	s, err := servers("pause", env)
	if err != nil {
		return err
	}
	const body = procStates + `pids=$(pgrep -x -- "$1") || exit 0
kill -CONT $pids
i=0
while states $pids | grep -q ' T$'; do
  i=$((i+1))
  if [ $i -ge 200 ]; then echo "still stopped after 2s: $(states $pids)" >&2; exit 4; fi
  sleep 0.01
done`
	return onNodes(nodes, func(node string) error {
		_, err := script(ctx, env.Cluster, node, body, nil, s.ServerProcess(node))
		return err
	})
}

// Observe implements Observer: every process that Inject stopped is in
// state T (all its threads), as /proc shows it.
func (p Pause) Observe(ctx context.Context, env *Env, ev plan.Event, _ any) error {
	v, ok := env.peek(ev)
	if !ok {
		return fmt.Errorf("no record of the pause of %v", ev.Targets)
	}
	paused := v.(pausedProcs)
	if len(paused) == 0 {
		return errors.New("the pause stopped no process")
	}
	var nodes []string
	for n := range paused {
		nodes = append(nodes, n)
	}
	return onNodes(nodes, func(node string) error {
		out, err := script(ctx, env.Cluster, node, procStates+`states "$@"`, nil, paused[node]...)
		if err != nil {
			return err
		}
		st := parseStates(out)
		if len(paused[node]) == 0 {
			return fmt.Errorf("on %s: no process was stopped", node)
		}
		for _, pid := range paused[node] {
			if st[pid] != "T" {
				return fmt.Errorf("on %s: process %s is in state %q, want T", node, pid, st[pid])
			}
		}
		return nil
	})
}

// Clean implements Observer: no server process is stopped on any node.
func (p Pause) Clean(ctx context.Context, env *Env) error {
	s, err := servers(pauseName, env)
	if err != nil {
		return err
	}
	return onNodes(env.nodes(), func(node string) error {
		out, err := script(ctx, env.Cluster, node, procStates+`states $(pgrep -x -- "$1")`, nil, s.ServerProcess(node))
		if err != nil {
			return err
		}
		var stopped []string
		for pid, st := range parseStates(out) {
			if st == "T" {
				stopped = append(stopped, pid)
			}
		}
		if len(stopped) > 0 {
			return fmt.Errorf("on %s: %s process(es) %s still stopped", node, s.ServerProcess(node), strings.Join(stopped, " "))
		}
		return nil
	})
}
