// Package nemesis injects the faults that production injects: partitions,
// pauses, kills, clock jumps, and stalls or crashes of lock holders. One file
// per fault family; every nemesis is listed in All.
//
// Faults are data before they are actions: package schedule draws a list of
// events from the seed, and the Runner here applies them, recording every
// start and stop in the history.
package nemesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/workloads"
)

// ErrUnknownNemesis is wrapped by Lookup for a name that is not registered.
var ErrUnknownNemesis = errors.New("unknown nemesis")

// ErrNotApplicable is wrapped by Applicable when a nemesis cannot act on a
// target, for example a clock fault on a server that does not read the clock
// through libc. The run reports it instead of silently doing nothing.
var ErrNotApplicable = errors.New("not applicable")

// Env is what a nemesis acts on.
type Env struct {
	// Cluster is nil for targets that run in process.
	Cluster runtime.Cluster
	Target  targets.Target
	// Nodes are the node names of the run.
	Nodes []string
	// Faults stalls or crashes lock holders.
	Faults *workloads.ClientFaults
	// TTL is the run's lease length.
	TTL time.Duration
	// Opts are the nemesis options from --opt name=value.
	Opts map[string]string
	Log  *slog.Logger

	// pending keeps what a nemesis needs between Inject and Heal, by
	// event.
	pending sync.Map
}

type eventKey struct {
	nemesis string
	start   time.Duration
}

// stash keeps v for the Heal of ev.
func (e *Env) stash(ev schedule.Event, v any) {
	e.pending.Store(eventKey{ev.Nemesis, ev.Start}, v)
}

// take returns and forgets what Inject kept for ev.
func (e *Env) take(ev schedule.Event) (any, bool) {
	return e.pending.LoadAndDelete(eventKey{ev.Nemesis, ev.Start})
}

// A Nemesis is one fault family. Inject returns once the fault is in
// effect, so that the recorded start is when the fault really began; Heal
// returns once it is undone. Teardown undoes whatever the nemesis may have
// left, whatever state it is in, and is called at the end of every run.
type Nemesis interface {
	schedule.Planner
	// Description is one line for `lockstorm nemeses`.
	Description() string
	// Applicable says whether the nemesis can act on the run's target;
	// a wrapped ErrNotApplicable says why not.
	Applicable(env *Env) error
	// Inject applies ev and returns details for the history.
	Inject(ctx context.Context, env *Env, ev schedule.Event) (any, error)
	// Heal undoes ev and returns details for the history.
	Heal(ctx context.Context, env *Env, ev schedule.Event) (any, error)
	// Teardown undoes everything the nemesis may have done.
	Teardown(ctx context.Context, env *Env) error
}

// All returns every registered nemesis, in the order `lockstorm nemeses`
// lists them. Add a new nemesis here: the conformance test ranges over this
// list, so it is tested with no other change.
func All() []Nemesis {
	return []Nemesis{
		Partition{},
		Pause{},
		Kill{},
		Clock{},
		ClientPause{},
		ClientCrash{},
	}
}

// Lookup returns the registered nemesis with the given name.
func Lookup(name string) (Nemesis, error) {
	for _, n := range All() {
		if n.Name() == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("%w %q (valid: %s)", ErrUnknownNemesis, name, strings.Join(Names(), ", "))
}

// Names returns the names of all registered nemeses, sorted.
func Names() []string {
	var names []string
	for _, n := range All() {
		names = append(names, n.Name())
	}
	sort.Strings(names)
	return names
}

// Parse turns a --nemesis list ("pause,kill") into nemeses. "" and "none"
// give none.
func Parse(list string) ([]Nemesis, error) {
	var out []Nemesis
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" || name == "none" || seen[name] {
			continue
		}
		seen[name] = true
		n, err := Lookup(name)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// Planners returns ns as schedule planners.
func Planners(ns []Nemesis) []schedule.Planner {
	out := make([]schedule.Planner, len(ns))
	for i, n := range ns {
		out[i] = n
	}
	return out
}

// needsCluster is the Applicable check of every nemesis that acts on node
// containers.
func needsCluster(name string, env *Env) error {
	if env.Cluster == nil {
		return fmt.Errorf("%w: %s acts on server nodes, and target %s runs in process", ErrNotApplicable, name, env.Target.Name())
	}
	return nil
}

// pickNodes draws k distinct nodes from nodes with rng, in node order.
func pickNodes(rng *rand.Rand, nodes []string, k int) []string {
	if k > len(nodes) {
		k = len(nodes)
	}
	perm := rng.Perm(len(nodes))[:k]
	sort.Ints(perm)
	out := make([]string, k)
	for i, p := range perm {
		out[i] = nodes[p]
	}
	return out
}

// durationOpt reads a duration option, with a default.
func durationOpt(opts map[string]string, name string, def time.Duration) (time.Duration, error) {
	s, ok := opts[name]
	if !ok || s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("option %s=%q: %w", name, s, err)
	}
	return d, nil
}
