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
	"sort"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/targets"
)

// ErrUnknownWorkload is wrapped by Lookup for a name that is not registered.
var ErrUnknownWorkload = errors.New("unknown workload")

// Config is what every workload is driven by.
type Config struct {
	// Concurrency is the number of client workers.
	Concurrency int
	// Rate is the total rate of lock attempts per second over all workers;
	// zero means as fast as the lock allows.
	Rate float64
	// Hold is the simulated work inside the critical section.
	Hold time.Duration
	// Keys is the number of distinct lock keys.
	Keys int
	// TTL is the lease asked for, recorded on every acquire (0: none).
	TTL time.Duration
	// OpTimeout bounds one lock call; a call that runs out is
	// indeterminate.
	OpTimeout time.Duration
	// Fencing makes the trusted resource reject writes with stale tokens.
	Fencing bool
	// Seed drives every random choice of the workload.
	Seed int64
	// Variant selects the workload's variant ("" for its default).
	Variant string
	// Extra holds workload-specific settings from --opt name=value.
	Extra map[string]string
}

// Env is what a workload runs against.
type Env struct {
	Target   targets.Target
	Recorder *history.Recorder
	Faults   *ClientFaults
	Log      *slog.Logger
	Config   Config
}

// A Workload drives clients against a target until its context ends.
type Workload interface {
	// Name is the registry name, e.g. "mutex".
	Name() string
	// Description is one line for `lockstorm workloads`.
	Description() string
	// Run drives the clients until ctx is done, then lets in-flight
	// operations finish and releases what its clients hold.
	Run(ctx context.Context, env *Env) error
	// Keys are the lock keys the workload uses, for the liveness probe.
	Keys(cfg Config) []string
	// Checkers are the workload's own checkers, run next to the lock
	// checkers.
	Checkers(cfg Config) []func(history.History) checker.Result
}

// All returns every registered workload. Add a new workload here.
func All() []Workload {
	return []Workload{
		Mutex{},
		Inventory{},
		Payment{},
		ScheduledJobs{},
		LeaderElection{},
	}
}

// Lookup returns the registered workload with the given name.
func Lookup(name string) (Workload, error) {
	for _, w := range All() {
		if w.Name() == name {
			return w, nil
		}
	}
	return nil, fmt.Errorf("%w %q (valid: %s)", ErrUnknownWorkload, name, strings.Join(Names(), ", "))
}

// Names returns the names of all registered workloads, sorted.
func Names() []string {
	var names []string
	for _, w := range All() {
		names = append(names, w.Name())
	}
	sort.Strings(names)
	return names
}

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
