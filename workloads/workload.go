// Package workloads holds what clients do during a run: the mutex loop and
// the use cases of the distributed-lock chapter (inventory, payments,
// scheduled jobs, leader election). Each workload records every lock and
// resource operation in the history and names the checkers that judge it.
package workloads

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/internal/registry"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
)

// ErrUnknownWorkload is wrapped by Lookup for a name that is not registered.
var ErrUnknownWorkload = errors.New("unknown workload")

// Env is what a workload runs against.
type Env struct {
	// Plan is the run.
	Plan *plan.Plan
	// NewClient returns a client of the target for process: lockstorm's
	// Go binding in the harness, or a client process behind the protocol.
	NewClient func(ctx context.Context, process int) (targets.Client, error)
	// NewStore returns a connection of process to the service's own data
	// store (targets.Stocker), for a workload that keeps its data there
	// (StoreUser); nil for any other workload, and when the target has no
	// store. Process -1 is the workload itself (setting its data up, the
	// audit).
	NewStore func(ctx context.Context, process int) (targets.Store, error)
	// Decrements says whether that store has an atomic decrement.
	Decrements bool
	Recorder   *history.Recorder
	Faults     *ClientFaults
	Log        *slog.Logger
}

// A Workload drives clients against a target until its context ends.
type Workload interface {
	// Name is the registry name, e.g. "mutex".
	Name() string
	// Description is one line for `lockstorm workloads`.
	Description() string
	// Options declares the --opt settings the workload reads.
	Options() []option.Spec
	// Variants lists the workload's variants, the default first; nil
	// when it has none.
	Variants() []string
	// Run drives the clients until ctx is done, then lets in-flight
	// operations finish and releases what its clients hold.
	Run(ctx context.Context, env *Env) error
	// Keys are the lock keys the workload uses, for the liveness probe.
	Keys(p *plan.Plan) []string
	// Checkers are the workload's own checkers, run next to the lock
	// checkers.
	Checkers(p *plan.Plan) []func(history.History) checker.Result
	// Judges names the workload's own checkers, as their results do, for
	// a campaign cell's judge: list.
	Judges() []string
}

// A Preparer is a workload with rules of its own for the plan and the
// target, checked before anything starts.
type Preparer interface {
	Prepare(p *plan.Plan, svc targets.Service) error
}

// extra are the workloads that a Go module outside this repository added
// with Extend.
var (
	extraMu sync.Mutex
	extra   []Workload
)

// Extend adds workloads to the registry, for a lockstorm binary built by
// another Go module (cli.Main does it from cli.Extensions).
func Extend(ws ...Workload) {
	extraMu.Lock()
	defer extraMu.Unlock()
	extra = append(extra, ws...)
}

// All returns every registered workload, those added with Extend last.
// Add a new workload here.
func All() []Workload {
	extraMu.Lock()
	defer extraMu.Unlock()
	return append(builtin(), extra...)
}

func builtin() []Workload {
	return []Workload{
		Mutex{},
		Inventory{},
		Payment{},
		ScheduledJobs{},
		LeaderElection{},
		Contention{},
	}
}

// Lookup returns the registered workload called name.
func Lookup(name string) (Workload, error) {
	return registry.Lookup(All(), "workload", name, ErrUnknownWorkload)
}

// Names returns the names of all registered workloads, sorted.
func Names() []string { return registry.Names(All()) }

// LockKeys returns the n lock keys "lock-0".."lock-(n-1)".
func LockKeys(n int) []string {
	if n < 1 {
		n = 1
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("lock-%d", i)
	}
	return keys
}
