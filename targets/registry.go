package targets

import "github.com/lockstorm/lockstorm/internal/registry"

// All returns a fresh instance of every registered service, in the order
// `lockstorm targets` lists them. Services keep state between Setup and
// Teardown, so each run takes its own instance. Add a new target here.
func All() []Service {
	return []Service{
		NewInMemory(),
		NewEtcd(),
		NewZookeeper(),
		NewRedis(),
		NewRedlock(),
		NewSentinel(),
		NewPostgresAdvisory(),
		NewPostgresRow(),
		NewPostgresRowExpiry(),
	}
}

// Lookup returns a fresh instance of the registered service called name.
func Lookup(name string) (Service, error) {
	return registry.Lookup(All(), "target", name, ErrUnknownTarget)
}

// Names returns the names of all registered services, sorted.
func Names() []string { return registry.Names(All()) }
