// Package targets holds the lock services under test, one file (or folder)
// each. A Service starts its servers on the nodes of a run; its Go Binding
// hands out clients that Acquire and Release locks through the real client
// library, returning a fencing token where the system has one. Protocol
// clients in other languages drive the same servers.
package targets

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
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

// ErrUnknownTarget is wrapped by Lookup for a name that is not registered.
var ErrUnknownTarget = errors.New("unknown target")

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

// A Service is one lock service under test: it starts and owns the
// servers (on the nodes of a run, or in process), waits until they are
// healthy, and states the lease it honours. Clients of it come from a
// Binding: lockstorm's own Go binding (Binding), or any protocol client
// (docs/protocol.md) that drives the same servers.
type Service interface {
	// Name is the registry name, e.g. "redis".
	Name() string
	// Description is one line for `lockstorm targets`.
	Description() string
	// DefaultNodes is how many nodes the service wants when --nodes is not
	// given.
	DefaultNodes() int
	// Options declares the --opt settings of the service and of its Go
	// binding.
	Options() []option.Spec
	// Prepare checks the plan's settings for this service before anything
	// starts (rules that tie options to each other or to the number of
	// nodes) and returns the lease it expects its servers to grant for the
	// plan's TTL; zero means grants never expire. It must not change p.
	Prepare(p *plan.Plan) (time.Duration, error)
	// Setup starts the servers and waits until they are healthy.
	Setup(ctx context.Context, env *Env) error
	// Lease is how long the service keeps a grant after the acquire was
	// sent, as the servers granted it in Setup: the TTL of a Redis key, the
	// TTL of an etcd session. Zero means grants never expire. Workloads
	// record it as the ttl of every acquire, and the checkers trust it: a
	// lease reported longer than the service honours makes them blame the
	// service for a legitimate expiry, and one reported shorter makes them
	// blame the holder for the service's early grant.
	Lease() time.Duration
	// Ports names the service's TCP ports on each of its nodes, by role
	// ("redis", "sentinel", "client"), for clients of other kinds.
	Ports() map[string]int
	// Binding returns lockstorm's Go binding of the service.
	Binding() Binding
	// Teardown closes what Setup opened on the harness side. The runtime
	// removes the containers.
	Teardown(ctx context.Context) error
}

// ClientEnv is what a binding gets to create one client: the same facts
// that the protocol's init message carries (docs/protocol.md).
type ClientEnv struct {
	// Plan is the run, with its nodes' addresses and ports, the lease
	// asked for and granted, the wait budget, the keys and the options.
	Plan *plan.Plan
	// Process is the client's process id in the history.
	Process int
	// Node is the node assigned to the client (round-robin); a binding
	// of a service with one entry point may ignore it.
	Node string
	Log  *slog.Logger
}

// A Binding creates clients of a service.
type Binding interface {
	NewClient(ctx context.Context, env ClientEnv) (Client, error)
}

// A Grant is the result of a successful Acquire.
type Grant struct {
	// Token is the fencing token, or nil where the system has none.
	Token *int64
}

// A Client acquires and releases locks for one process.
type Client interface {
	// Acquire takes the lock on key, waiting up to the plan's wait
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
func IsLocal(t Service) bool {
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
func ExpiryOf(t Service) Expiry {
	if e, ok := t.(Expirer); ok {
		return e.Expiry()
	}
	return NoExpiry
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

// Unshimmed is implemented by container targets that the clock shim cannot
// move, to say why in the clock nemesis's not-applicable note (a Go server
// that reads the clock without libc, a lock that reads no clock).
type Unshimmed interface {
	// WhyNoClockShim completes "target X's servers ...".
	WhyNoClockShim() string
}

// goServersNoShim is the reason of the targets whose servers are Go.
const goServersNoShim = "are Go and read the clock without libc, so the clock shim cannot shift it"

// LogCollector is implemented by targets that have server logs to keep.
type LogCollector interface {
	// LogPaths returns, per node, the paths inside the node to copy into
	// nodes/<node>/ of the run directory.
	LogPaths() map[string][]string
}

// ErrBrokenClient is wrapped by errors of a client that broke its own
// contract: a protocol client that printed something that is not a reply,
// crashed at start, or never answered init. It is an infrastructure
// failure of that client, not an outcome of a lock call: the run stops
// and keeps the history up to then.
var ErrBrokenClient = errors.New("broken client")

// ErrLost is wrapped by a Checker's error when the client knows that it no
// longer holds the lock (its session expired, its connection was lost and
// its library treats that as a loss).
var ErrLost = errors.New("lock lost")

// A Checker is a client that can tell, while it holds a lock, whether its
// library still believes it holds it: ZooKeeper's connection state, a
// lease's keepalive. A holder that checks stops working once the answer
// is no (ErrLost), as Curator's Tech Note 14 asks of ZooKeeper clients.
// CanCheck says whether this client answers at all.
type Checker interface {
	CanCheck() bool
	Check(ctx context.Context, key string) error
}

// SessionBound is implemented by services whose grants belong to the
// client's session (its connection): the server frees them when the
// session ends, whatever the holder believes (PostgreSQL's advisory
// locks). A fault that ends a holder's session says so in the history,
// so that the checkers can tell such a release from an early grant.
type SessionBound interface {
	SessionBound() bool
}

// IsSessionBound reports whether s's grants belong to the client's
// session.
func IsSessionBound(s Service) bool {
	b, ok := s.(SessionBound)
	return ok && b.SessionBound()
}

// A Freezer is a client that can be stopped whole, every thread of it, as
// a stop-the-world pause stops a process, and resumed: a client process
// (SIGSTOP and SIGCONT). The client-pause nemesis freezes such a holder
// rather than stalling it in the harness.
type Freezer interface {
	Freeze(ctx context.Context) error
	Thaw(ctx context.Context) error
}
