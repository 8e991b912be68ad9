package targets

import (
	"context"
	"time"

	"github.com/lockstorm/lockstorm/plan"
)

// The optional interfaces. A Service or a Client implements one of them
// when it has the power it names; the harness, the nemeses and the
// workloads find it by type assertion, and without it they do without (a
// fault that needs it is not applicable, a report leaves it out). Each
// is named in docs/extending.md with what it enables.

// Local is implemented by services that run in the harness's own process
// and need no containers (the in-memory mutex). The harness then starts no
// cluster and uses the Go binding in process, the command line opens no
// container engine and refuses client processes, and the nemeses that act
// on server nodes are not applicable.
type Local interface {
	InProcess() bool
}

// IsLocal reports whether s runs in process.
func IsLocal(s Service) bool {
	l, ok := s.(Local)
	return ok && l.InProcess()
}

// Fencer is implemented by services whose grants carry fencing tokens. The
// harness notes, in a run that asks for fencing, that a service without
// tokens cannot have the resource reject stale writes.
type Fencer interface {
	// HasTokens reports whether Acquire returns fencing tokens with the
	// current options.
	HasTokens() bool
}

// Expiry is how a service's grants end when the holder neither releases
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

// Expirer is implemented by services whose grants expire. The harness
// sizes the default hold from it (harness.DefaultHold): within a fixed
// lease, or past a renewed one. Services that do not implement it have
// NoExpiry.
type Expirer interface {
	Expiry() Expiry
}

// ExpiryOf returns how s's grants expire.
func ExpiryOf(s Service) Expiry {
	if e, ok := s.(Expirer); ok {
		return e.Expiry()
	}
	return NoExpiry
}

// Primaries is implemented by services that can name their current
// primary or leader nodes. The pause and kill nemeses use it for their
// primaries mode ("pause the leader").
type Primaries interface {
	Primaries(ctx context.Context) ([]string, error)
}

// Servers is implemented by services whose servers run in node
// containers as processes the nemeses can find. The kill and pause
// nemeses use it to find, stop and restart the server processes; without
// it they are not applicable.
type Servers interface {
	// ServerProcess names the server's process (for pgrep -x) on a node.
	ServerProcess(node string) string
	// StartServer starts the server on a node again after a kill.
	StartServer(ctx context.Context, node string) error
}

// ClockShimmed is implemented by services whose servers read the clock
// through libc with the project's clock shim preloaded (Daemon.Shim). The
// clock nemesis moves their clocks; services that do not implement it (or
// return false) are not affected by it, and it is not applicable.
type ClockShimmed interface {
	ClockShimmed() bool
}

// Unshimmed is implemented by container services that the clock shim
// cannot move, to say why in the clock nemesis's not-applicable note (a Go
// server that reads the clock without libc, a lock that reads no clock).
type Unshimmed interface {
	// WhyNoClockShim completes "target X's servers ...".
	WhyNoClockShim() string
}

// GoServersNoShim is the WhyNoClockShim of services whose servers are
// written in Go.
const GoServersNoShim = "are Go and read the clock without libc, so the clock shim cannot shift it"

// LogCollector is implemented by services that have server logs to keep.
// The harness copies them into the run directory before the teardown.
type LogCollector interface {
	// LogPaths returns, per node, the paths inside the node to copy into
	// nodes/<node>/ of the run directory.
	LogPaths() map[string][]string
}

// SessionBound is implemented by services whose grants belong to the
// client's session (its connection): the server frees them when the
// session ends, whatever the holder believes (PostgreSQL's advisory
// locks, MariaDB's named locks). A nemesis that ends a holder's session
// says so in the history, so that the checkers can tell such a release
// from an early grant.
type SessionBound interface {
	SessionBound() bool
}

// IsSessionBound reports whether s's grants belong to the client's
// session.
func IsSessionBound(s Service) bool {
	b, ok := s.(SessionBound)
	return ok && b.SessionBound()
}

// A Stocker is a service whose own data store can keep an item's stock,
// for the contention workload: the chapter's inventory (7.2.2) deducted
// under the lock, optimistically with a conditional write, and, where the
// store has one, with an atomic decrement. The stock lives in the real
// service (a Redis key, an etcd key, a PostgreSQL row, a znode), not in
// the harness. Without it the contention workload refuses the target.
type Stocker interface {
	// NewStore returns one client process's connection to the store, on
	// the node the plan assigns it.
	NewStore(ctx context.Context, env ClientEnv) (Store, error)
	// Decrements reports whether the store has an atomic decrement that
	// cannot go below zero.
	Decrements() bool
}

// StockerOf returns s's store, if it has one.
func StockerOf(s Service) (Stocker, bool) {
	st, ok := s.(Stocker)
	return st, ok
}

// A Checker is a client that can tell, while it holds a lock, whether its
// library still believes it holds it: ZooKeeper's connection state, a
// lease's keepalive. The workloads ask a holder that checks before each
// act, and it stops working once the answer is no (ErrLost), as Curator's
// Tech Note 14 asks of ZooKeeper clients; the protocol relays the check
// to and from client processes. CanCheck says whether this client answers
// at all.
type Checker interface {
	CanCheck() bool
	Check(ctx context.Context, key string) error
}

// A Freezer is a client that can be stopped whole, every thread of it, as
// a stop-the-world pause stops a process, and resumed: a client process
// (SIGSTOP and SIGCONT). The client-pause nemesis freezes such a holder
// rather than stalling it in the harness.
type Freezer interface {
	Freeze(ctx context.Context) error
	Thaw(ctx context.Context) error
}

// Provisioner is implemented by services that bring something from the
// harness's machine to their nodes: a server version built from its Go
// module, or the user's own server binary (targets/serverbin). The harness
// calls Provision once per run, before the cluster starts and before the
// run's clock, so that the minute a build takes counts in no history; the
// service installs what it brought in Setup. say receives progress lines
// for the terminal. An error wrapping ErrUnknownVersion is bad input;
// any other is an infrastructure failure.
type Provisioner interface {
	Provision(ctx context.Context, p *plan.Plan, say func(string)) error
}

// A Versioner reports the version of the server that runs, as the server
// itself says it: "<server> <version>", short and exact ("etcd 3.4.23",
// "redis 7.0.15", "zookeeper 3.8.0"), never what the image or the plan
// was meant to hold. The harness asks right after Setup, with a deadline
// (VersionTimeout), records the answer in the run's results.json
// (server_version) and shows it on the run's page, next to the command
// that reproduces it. Asking must touch no lock key. A failure leaves the
// version empty and never fails the run.
type Versioner interface {
	ServerVersion(ctx context.Context) (string, error)
}

// VersionTimeout bounds the harness's question to a Versioner.
const VersionTimeout = 10 * time.Second
