// Package inmemory is the inmemory target: a mutex table in each
// "server"'s memory, simulated in the harness's own process
// (targets.Local). The servers and their lease are in server.go, the Go
// binding in client.go, the contention workload's store in store.go.
package inmemory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
)

// Service is the lock that people mistake for a distributed lock: every
// "server" (node) keeps its own in-process mutex table, and each client talks
// to one server. With one node it is a correct lock. With several, clients of
// different servers never see each other's locks, so mutual exclusion breaks
// at once: the chapter's "in-memory variable" lock.
type Service struct {
	servers map[string]*memServer
	// store is the one database the servers share (the contention
	// workload's stock), made on first use.
	storeOnce sync.Once
	store     *memStore
}

// New returns the in-memory target.
func New() *Service { return &Service{} }

// Name implements targets.Service.
func (*Service) Name() string { return "inmemory" }

// Describe implements targets.Service: three servers by default, so that the
// lock breaks, as it does across machines; no options, and no ports, since the
// servers listen on nothing.
func (*Service) Describe() targets.Descriptor {
	return targets.Descriptor{
		Description:  "a mutex in each server's memory: correct on one node, broken across several (no containers)",
		DefaultNodes: 3,
	}
}

// InProcess implements targets.Local: the servers are simulated in the harness.
func (*Service) InProcess() bool { return true }

// Prepare implements targets.Service: an in-memory lock never expires.
func (*Service) Prepare(p *plan.Plan) (time.Duration, error) {
	if p.Client != "" && p.Client != plan.ClientGo {
		return 0, fmt.Errorf("inmemory runs its servers inside the harness, so only its Go clients (--client go) can reach them, not %q", p.Client)
	}
	return 0, nil
}

// Setup creates one in-process server per node name. An in-memory lock
// never expires: the lease is zero.
func (m *Service) Setup(_ context.Context, env *targets.Env) (time.Duration, error) {
	if len(env.Plan.Nodes) == 0 {
		return 0, fmt.Errorf("inmemory: no nodes")
	}
	m.servers = map[string]*memServer{}
	for _, n := range env.Plan.Nodes {
		m.servers[n.Name] = &memServer{holders: map[string]int{}, freed: make(chan struct{})}
	}
	return 0, nil
}

// Binding implements targets.Service: clients call into this instance's
// servers.
func (m *Service) Binding() targets.Binding { return memBinding{m} }

// Teardown implements targets.Service.
func (*Service) Teardown(context.Context) error { return nil }

// memServer is one node's lock table: key -> holding process.
type memServer struct {
	mu      sync.Mutex
	holders map[string]int
	freed   chan struct{} // closed and replaced whenever a lock is freed
}
