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
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/internal/registry"
	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/workloads"
)

// ErrUnknownNemesis is wrapped by Lookup for a name that is not registered.
var ErrUnknownNemesis = errors.New("unknown nemesis")

// ErrNotApplicable is wrapped by a Descriptor's Applies when a nemesis
// cannot act on a target, for example a clock fault on a server that does
// not read the clock through libc. The run reports it instead of silently
// doing nothing.
var ErrNotApplicable = errors.New("not applicable")

// Env is what a nemesis acts on.
type Env struct {
	// Cluster is nil for targets that run in process.
	Cluster runtime.Cluster
	// Service is the lock service under test.
	Service targets.Service
	// Plan is the run: its nodes, lease and options.
	Plan *plan.Plan
	// Faults stalls or crashes lock holders, and says who holds a lock.
	Faults *workloads.ClientFaults
	// ClientOf names the client container that process runs in; nil when
	// the run's clients run in the harness (--client go).
	ClientOf func(process int) string
	// Now reads the history's clock (ns since the run began); nil when
	// there is no history.
	Now func() int64
	Log *slog.Logger

	// pending keeps what a nemesis needs between Inject and Heal, by
	// event.
	pending sync.Map
	// link holds the link nemesis's proxies for the run.
	link linkState
}

// sessionsAt notes in details that the fault may end the sessions of
// procs from now on (docs/history.md): the time is read before the fault
// acts, since a session can end before Inject returns and the start op is
// recorded. Only for services whose grants belong to the session.
func (e *Env) sessionsAt(details map[string]any, procs []int, at int64) {
	if len(procs) == 0 || !targets.IsSessionBound(e.Service) {
		return
	}
	details["sessions"] = procs
	if at >= 0 {
		details["sessions_at"] = at
	}
}

// now reads the history's clock, or -1.
func (e *Env) now() int64 {
	if e.Now == nil {
		return -1
	}
	return e.Now()
}

// nodes returns the names of the run's nodes.
func (e *Env) nodes() []string { return e.Plan.NodeNames() }

type eventKey struct {
	nemesis string
	start   time.Duration
}

// stash keeps v for the Heal of ev.
func (e *Env) stash(ev plan.Event, v any) {
	e.pending.Store(eventKey{ev.Nemesis, ev.Start}, v)
}

// take returns and forgets what Inject kept for ev.
func (e *Env) take(ev plan.Event) (any, bool) {
	return e.pending.LoadAndDelete(eventKey{ev.Nemesis, ev.Start})
}

// peek returns what Inject kept for ev without forgetting it.
func (e *Env) peek(ev plan.Event) (any, bool) {
	return e.pending.Load(eventKey{ev.Nemesis, ev.Start})
}

// A Nemesis is one fault family: what it is (Describe), and its fault as
// data (Plan) and as actions (Inject, Heal, Teardown), as Jepsen's nemesis
// protocol has setup, invoke and teardown.
//
// Plan draws an event from the seed, writing its parameters with the
// nemesis's typed params (params.go); Inject decodes them once, and
// returns once the fault is in effect, so that the recorded start is when
// the fault really began; Heal returns once it is undone. Teardown undoes
// whatever the nemesis may have left, whatever state it is in, and is
// called at the end of every run.
//
// Two powers are optional interfaces beside it: Observer, which the
// conformance test requires of every nemesis that applies to its cluster,
// and Preparer, for a nemesis that must be in place before the clients
// connect.
type Nemesis interface {
	// Describe returns the nemesis's descriptor: its name, description,
	// options, and where it applies.
	Describe() Descriptor
	// Plan draws one event from rng, and only from rng, so that a seed
	// always gives the same schedule. The generator fills in the event's
	// Nemesis and Start, and its Duration when Plan leaves it 0.
	Plan(rng *rand.Rand, p schedule.PlanParams) (plan.Event, error)
	// Inject applies ev and returns details for the history.
	Inject(ctx context.Context, env *Env, ev plan.Event) (any, error)
	// Heal undoes ev and returns details for the history.
	Heal(ctx context.Context, env *Env, ev plan.Event) (any, error)
	// Teardown undoes everything the nemesis may have done.
	Teardown(ctx context.Context, env *Env) error
}

// extra are the nemeses that a Go module outside this repository added
// with Extend.
var (
	extraMu sync.Mutex
	extra   []Nemesis
)

// Extend adds nemeses to the registry, for a lockstorm binary built by
// another Go module (cli.Main does it from cli.Extensions).
func Extend(ns ...Nemesis) {
	extraMu.Lock()
	defer extraMu.Unlock()
	extra = append(extra, ns...)
}

// All returns every registered nemesis, in the order `lockstorm nemeses`
// lists them, those added with Extend last. Add a new nemesis here: the
// conformance test ranges over this list, so it is tested with no other
// change.
func All() []Nemesis {
	extraMu.Lock()
	defer extraMu.Unlock()
	return append(builtin(), extra...)
}

func builtin() []Nemesis {
	return []Nemesis{
		Partition{},
		Pause{},
		Kill{},
		Clock{},
		ClientPause{},
		ClientCrash{},
		ConnDrop{},
		Link{},
	}
}

// Lookup returns the registered nemesis called name.
func Lookup(name string) (Nemesis, error) {
	n, err := registry.Lookup(named(All()), "nemesis", name, ErrUnknownNemesis)
	return n.Nemesis, err
}

// Names returns the names of all registered nemeses, sorted.
func Names() []string { return registry.Names(named(All())) }

// A namedNemesis gives a nemesis the Name of its descriptor, which the
// registry and the schedule's planners look it up by.
type namedNemesis struct{ Nemesis }

// Name returns the name of the nemesis's descriptor.
func (n namedNemesis) Name() string { return n.Describe().Name }

// named returns ns as registry entries.
func named(ns []Nemesis) []namedNemesis {
	out := make([]namedNemesis, len(ns))
	for i, n := range ns {
		out[i] = namedNemesis{n}
	}
	return out
}

// Split turns a --nemesis list ("pause,kill", or "pause+kill" as in a
// campaign cell's name) into names, dropping "none", blanks and repeats.
func Split(list string) []string {
	var out []string
	for _, name := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == '+' }) {
		name = strings.TrimSpace(name)
		if name != "" && name != "none" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// Parse returns the registered nemeses called names, in order.
func Parse(names []string) ([]Nemesis, error) {
	var out []Nemesis
	for _, name := range names {
		n, err := Lookup(name)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// Planners returns ns as schedule planners, named by their descriptors.
func Planners(ns []Nemesis) []schedule.Planner {
	out := make([]schedule.Planner, len(ns))
	for i, n := range ns {
		out[i] = namedNemesis{n}
	}
	return out
}

// needsCluster is the Applies check of every nemesis that acts on node
// containers.
func needsCluster(name string, env *Env) error {
	if targets.IsLocal(env.Service) {
		return fmt.Errorf("%w: %s acts on server nodes, and target %s runs in process", ErrNotApplicable, name, env.Service.Name())
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
