package targets

import "errors"

// ErrNotAcquired is returned by Acquire when the lock was certainly not
// taken: it was busy for the whole wait budget. The workload records a fail.
// Any other Acquire error is indeterminate and recorded as info.
var ErrNotAcquired = errors.New("lock not acquired")

// ErrNotHeld is returned by Release when the service certainly did not
// release the lock because this client did not hold it (for example its
// lease had run out). The workload records a fail.
var ErrNotHeld = errors.New("lock not held")

// ErrLost is wrapped by a Checker's error when the client knows that it no
// longer holds the lock (its session expired, its connection was lost and
// its library treats that as a loss).
var ErrLost = errors.New("lock lost")

// ErrBrokenClient is wrapped by errors of a client that broke its own
// contract: a protocol client that printed something that is not a reply,
// crashed at start, or never answered init. It is an infrastructure
// failure of that client, not an outcome of a lock call: the run stops
// and keeps the history up to then.
var ErrBrokenClient = errors.New("broken client")

// ErrUnknownTarget is wrapped by Lookup for a name that is not registered.
var ErrUnknownTarget = errors.New("unknown target")

// ErrUnknownVersion is wrapped by Provision's error when the server
// version asked for does not exist (the module proxy does not serve it):
// bad input.
var ErrUnknownVersion = errors.New("no such server version")

// ErrCannotRun is wrapped by errors about a server executable that cannot
// run on the nodes (not executable, another architecture, a library the
// node image lacks).
var ErrCannotRun = errors.New("server executable cannot run on the nodes")
