package targets

import (
	"sync"

	"github.com/lockstorm/lockstorm/internal/registry"
)

// extra are the constructors of services that a Go module outside this
// repository added with Extend.
var (
	extraMu sync.Mutex
	extra   []func() Service
)

// Extend adds services to the registry, for a lockstorm binary built by
// another Go module with its own targets (cli.Main does it from
// cli.Extensions). Call it before anything looks a target up.
func Extend(newService ...func() Service) {
	extraMu.Lock()
	defer extraMu.Unlock()
	extra = append(extra, newService...)
}

// All returns a fresh instance of every registered service, in the order
// `lockstorm targets` lists them, those added with Extend last. Services
// keep state between Setup and Teardown, so each run takes its own
// instance. Add a new target here.
func All() []Service {
	out := builtin()
	extraMu.Lock()
	defer extraMu.Unlock()
	for _, f := range extra {
		out = append(out, f())
	}
	return out
}

func builtin() []Service {
	return []Service{
		NewInMemory(),
		NewEtcd(),
		NewEtcdLockAPI(),
		NewEtcdElection(),
		NewZookeeper(),
		NewRedis(),
		NewRedlock(),
		NewSentinel(),
		NewPostgresAdvisory(),
		NewPostgresRow(),
		NewPostgresRowExpiry(),
		NewMariadbGetLock(),
		NewMemcached(),
		NewNatsKV(),
	}
}

// Lookup returns a fresh instance of the registered service called name.
func Lookup(name string) (Service, error) {
	return registry.Lookup(All(), "target", name, ErrUnknownTarget)
}

// Names returns the names of all registered services, sorted.
func Names() []string { return registry.Names(All()) }
