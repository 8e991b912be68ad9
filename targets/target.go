// Package targets holds the lock implementations under test, one file (or
// folder) each. A Target starts its servers on the nodes of a run and hands
// out clients that Acquire and Release locks through the real client library,
// returning a fencing token where the system has one.
package targets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/runtime"
)

// ErrNotAcquired is returned by Acquire when the lock was certainly not
// taken: it was busy for the whole wait budget. The workload records a fail.
// Any other Acquire error is indeterminate and recorded as info.
var ErrNotAcquired = errors.New("lock not acquired")

// ErrNotHeld is returned by Release when the service certainly did not
// release the lock because this client did not hold it (for example its
// lease had run out). The workload records a fail.
var ErrNotHeld = errors.New("lock not held")

// ErrBadOption is wrapped by Setup errors about a bad --opt value, so that
// the run exits with a usage error (3) rather than an infrastructure one.
var ErrBadOption = errors.New("bad target option")

// ErrUnknownTarget is wrapped by Lookup for a name that is not registered.
var ErrUnknownTarget = errors.New("unknown target")

// Options are the settings common to every target, plus target-specific
// name=value options.
type Options struct {
	// TTL is the lease length asked for on each acquire (or the session
	// timeout, for session-based locks). Zero means the target's default.
	TTL time.Duration
	// Wait is how long an Acquire may wait and retry before it gives up
	// with ErrNotAcquired.
	Wait time.Duration
	// Extra holds target-specific settings from --opt name=value.
	Extra map[string]string
}

// Env is what a target gets to set itself up.
type Env struct {
	// Cluster is the run's nodes; nil for targets that need no containers.
	Cluster runtime.Cluster
	// Nodes are the node names (n1..nN); for in-process targets, the names
	// of the simulated servers.
	Nodes []string
	// Image is the node image tag.
	Image string
	Log   *slog.Logger
	Opts  Options
}

// A Target is one lock implementation under test.
type Target interface {
	// Name is the target's registry name, e.g. "redis".
	Name() string
	// Description is one line for `lockstorm targets`.
	Description() string
	// DefaultNodes is how many nodes the target wants when --nodes is not
	// given.
	DefaultNodes() int
	// Setup starts the servers and waits until they are healthy.
	Setup(ctx context.Context, env *Env) error
	// Lease is how long the service keeps a grant after the acquire was
	// sent, with the options given to Setup: the TTL of a Redis key, the
	// TTL of an etcd session. Zero means grants never expire. Workloads
	// record it as the ttl of every acquire, and the checkers trust it: a
	// lease reported longer than the service honours makes them blame the
	// service for a legitimate expiry, and one reported shorter makes them
	// blame the holder for the service's early grant.
	Lease() time.Duration
	// NewClient returns a client for the given process. Targets spread
	// their clients over the nodes.
	NewClient(ctx context.Context, process int) (Client, error)
	// Teardown closes what Setup opened on the harness side. The runtime
	// removes the containers.
	Teardown(ctx context.Context) error
}

// A Grant is the result of a successful Acquire.
type Grant struct {
	// Token is the fencing token, or nil where the system has none.
	Token *int64
}

// A Client acquires and releases locks for one process.
type Client interface {
	// Acquire takes the lock on key, waiting up to the target's wait
	// budget. ErrNotAcquired means certainly not taken; any other error
	// means it is unknown whether the lock was taken.
	Acquire(ctx context.Context, key string) (Grant, error)
	// Release gives the lock on key back. ErrNotHeld means certainly not
	// released; any other error is indeterminate.
	Release(ctx context.Context, key string) error
	// Node names the node the client talks to.
	Node() string
	// Abandon simulates a crash of the client while it holds locks: it
	// drops its connections without releasing anything, so that only
	// expiry (if any) can free the locks.
	Abandon()
	// Close releases the client's resources.
	Close() error
}

// Local is implemented by targets that run in the harness's own process and
// need no containers.
type Local interface {
	InProcess() bool
}

// IsLocal reports whether t runs in process.
func IsLocal(t Target) bool {
	l, ok := t.(Local)
	return ok && l.InProcess()
}

// Fencer is implemented by targets whose grants carry fencing tokens.
type Fencer interface {
	// HasTokens reports whether Acquire returns fencing tokens with the
	// current options.
	HasTokens() bool
}

// Expiry is how a target's grants end when the holder neither releases
// them nor crashes in a way the service notices.
type Expiry int

const (
	// NoExpiry: a grant lasts until it is released or its session ends
	// (the in-memory mutex, PostgreSQL's advisory and row locks).
	NoExpiry Expiry = iota
	// FixedExpiry: a grant expires a fixed TTL after it was taken, whatever
	// the holder does (Redis SET NX PX, Redlock, a row lock with an expiry
	// column). A critical section has to fit in the TTL.
	FixedExpiry
	// RenewedExpiry: the client keeps the grant alive while it is healthy
	// (an etcd session's lease keepalives, ZooKeeper session heartbeats),
	// so a holder may work for longer than the lease; the grant expires one
	// lease after the renewals stop.
	RenewedExpiry
)

// Expirer is implemented by targets whose grants expire. Targets that do
// not implement it have NoExpiry.
type Expirer interface {
	Expiry() Expiry
}

// ExpiryOf returns how t's grants expire.
func ExpiryOf(t Target) Expiry {
	if e, ok := t.(Expirer); ok {
		return e.Expiry()
	}
	return NoExpiry
}

// Optioned is implemented by targets that read --opt options (workloads and
// nemeses declare theirs with the same method). The harness
// refuses options that no target, workload or nemesis declares, so that a
// misspelt option is an error rather than a silently ignored setting.
type Optioned interface {
	// OptionNames lists the full option names, e.g. "redis.persistence".
	OptionNames() []string
}

// Primaries is implemented by targets that can name their current
// primary or leader nodes, for `pause primaries`.
type Primaries interface {
	Primaries(ctx context.Context) ([]string, error)
}

// Servers is implemented by targets whose servers run in node containers.
// The kill and pause nemeses use it to find and restart server processes.
type Servers interface {
	// ServerProcess names the server's process (for pgrep -x) on a node.
	ServerProcess(node string) string
	// StartServer starts the server on a node again after a kill.
	StartServer(ctx context.Context, node string) error
}

// ClockShimmed is implemented by targets whose servers read the clock
// through libc with the project's clock shim preloaded. Targets that do not
// implement it (or return false) are not affected by the clock nemesis.
type ClockShimmed interface {
	ClockShimmed() bool
}

// LogCollector is implemented by targets that have server logs to keep.
type LogCollector interface {
	// LogPaths returns, per node, the paths inside the node to copy into
	// nodes/<node>/ of the run directory.
	LogPaths() map[string][]string
}

// Lookup returns the registered target with the given name.
func Lookup(name string) (Target, error) {
	for _, t := range All() {
		if t.Name() == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("%w %q (valid: %s)", ErrUnknownTarget, name, strings.Join(Names(), ", "))
}

// Names returns the names of all registered targets, sorted.
func Names() []string {
	var names []string
	for _, t := range All() {
		names = append(names, t.Name())
	}
	sort.Strings(names)
	return names
}

// NodeFor spreads processes over nodes round-robin.
func NodeFor(nodes []string, process int) string {
	if len(nodes) == 0 {
		return ""
	}
	if process < 0 {
		process = -process
	}
	return nodes[process%len(nodes)]
}
