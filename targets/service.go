// Package targets is the contract between lockstorm and the lock services
// it tests. A Service starts its servers on the nodes of a run and states
// the lease they grant; its Go Binding hands out Clients that Acquire and
// Release locks through the real client library, returning a fencing
// token where the system has one. What only some services can do (name
// their primaries, restart a killed server, have their clock moved) is an
// optional interface (optional.go), found by type assertion.
//
// Each service is a package of its own under targets/ (targets/redis,
// targets/etcd, ...), its servers and its Go binding in separate files;
// targets/all lists them, and the registry (registry.go) hands them out by
// name once they are registered. This package links no client library of
// any service, so that what depends on the contract (workloads, nemeses,
// the checkers, the harness) does not either.
package targets

import (
	"context"
	"log/slog"
	"time"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
)

// A Service is one lock service under test: it starts and owns the
// servers (on the nodes of a run, or in process), waits until they are
// healthy, and states the lease they grant. Clients of it come from a
// Binding: lockstorm's own Go binding (Binding), or any protocol client
// (docs/protocol.md) that drives the same servers. A service keeps state
// between Setup and Teardown, so each run takes a fresh one.
type Service interface {
	// Name is the registry name, e.g. "redis".
	Name() string
	// Describe returns what the service is before any run: the facts
	// that `lockstorm targets` lists and that a plan is resolved with.
	Describe() Descriptor
	// Prepare checks the plan's settings for this service before anything
	// starts (rules that tie options to each other or to the number of
	// nodes) and returns the lease it expects its servers to grant for the
	// plan's TTL; zero means grants never expire. It must not change p.
	Prepare(p *plan.Plan) (lease time.Duration, err error)
	// Setup starts the servers, waits until they are healthy, and returns
	// the lease they grant: how long the service keeps a grant after the
	// acquire was sent (the TTL of a Redis key, the TTL of an etcd
	// session); zero means grants never expire. The harness records it as
	// the ttl of every acquire, and the checkers trust it: a lease
	// reported longer than the service honours makes them blame the
	// service for a legitimate expiry, and one reported shorter makes them
	// blame the holder for the service's early grant.
	Setup(ctx context.Context, env *Env) (lease time.Duration, err error)
	// Binding returns lockstorm's Go binding of the service.
	Binding() Binding
	// Teardown closes what Setup opened on the harness side. The runtime
	// removes the containers.
	Teardown(ctx context.Context) error
}

// A Descriptor is what a service is before any run.
type Descriptor struct {
	// Description is one line for `lockstorm targets`.
	Description string
	// DefaultNodes is how many nodes the service wants when --nodes is
	// not given.
	DefaultNodes int
	// Options declares the --opt settings of the service and of its Go
	// binding.
	Options []option.Spec
	// Ports names the service's TCP ports on each of its nodes, by role
	// ("redis", "sentinel", "client"), for clients of other kinds.
	Ports map[string]int
}

// Env is what a service gets to set itself up.
type Env struct {
	// Cluster is the run's nodes; nil for services that need no
	// containers.
	Cluster runtime.Cluster
	// Plan is the run: its nodes (with their addresses), the lease asked
	// for, the wait budget and the options. Setup only reads it.
	Plan *plan.Plan
	Log  *slog.Logger
}
