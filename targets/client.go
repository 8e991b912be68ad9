package targets

import (
	"context"
	"log/slog"

	"github.com/lockstorm/lockstorm/plan"
)

// A Binding creates clients of a service.
type Binding interface {
	NewClient(ctx context.Context, env ClientEnv) (Client, error)
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
