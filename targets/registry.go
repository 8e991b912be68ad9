package targets

import (
	"sync"

	"github.com/lockstorm/lockstorm/internal/registry"
)

// The registry holds constructors, not services: services keep state
// between Setup and Teardown, so each run takes a fresh instance.
var (
	regMu sync.Mutex
	// builtin are lockstorm's own services, in the order of targets/all.
	builtin []func() Service
	// extra are the services that a Go module outside this repository
	// added with Extend.
	extra []func() Service
)

// Register makes newService the registry's own services, in the order
// `lockstorm targets` lists them. It replaces what an earlier call
// registered, so calling it again with the same list is harmless.
// targets/all registers lockstorm's services with it (all.Register), which
// cli.Main does before anything looks a target up; this package cannot
// list them itself, as it links no service's client library.
func Register(newService ...func() Service) {
	regMu.Lock()
	defer regMu.Unlock()
	builtin = append([]func() Service(nil), newService...)
}

// Extend adds services to the registry after the registered ones, for a
// lockstorm binary built by another Go module with its own targets
// (cli.Main does it from cli.Extensions). Call it before anything looks a
// target up.
func Extend(newService ...func() Service) {
	regMu.Lock()
	defer regMu.Unlock()
	extra = append(extra, newService...)
}

// All returns a fresh instance of every registered service, in the order
// `lockstorm targets` lists them, those added with Extend last. It panics
// when no service was registered: a program that looks targets up without
// calling all.Register (or Register) first is broken, and an empty list
// would pass for "no such target".
func All() []Service {
	regMu.Lock()
	defer regMu.Unlock()
	if len(builtin) == 0 {
		panic("targets: no services are registered: call all.Register() " +
			"(github.com/lockstorm/lockstorm/targets/all) before looking a target up; cli.Main does")
	}
	out := make([]Service, 0, len(builtin)+len(extra))
	for _, f := range builtin {
		out = append(out, f())
	}
	for _, f := range extra {
		out = append(out, f())
	}
	return out
}

// Lookup returns a fresh instance of the registered service called name.
func Lookup(name string) (Service, error) {
	return registry.Lookup(All(), "target", name, ErrUnknownTarget)
}

// Names returns the names of all registered services, sorted.
func Names() []string { return registry.Names(All()) }
