package targets

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// InMemory is the lock that people mistake for a distributed lock: every
// "server" (node) keeps its own in-process mutex table, and each client talks
// to one server. With one node it is a correct lock. With several, clients of
// different servers never see each other's locks, so mutual exclusion breaks
// at once: the chapter's "in-memory variable" lock.
type InMemory struct {
	servers map[string]*memServer
	// store is the one database the servers share (the contention
	// workload's stock), made on first use.
	storeOnce sync.Once
	store     *memStore
}

// NewInMemory returns the in-memory target.
func NewInMemory() *InMemory { return &InMemory{} }

// Name implements Service.
func (*InMemory) Name() string { return "inmemory" }

// Description implements Service.
func (*InMemory) Description() string {
	return "a mutex in each server's memory: correct on one node, broken across several (no containers)"
}

// DefaultNodes implements Service: three servers, so that the lock breaks
// by default, as it does across machines.
func (*InMemory) DefaultNodes() int { return 3 }

// InProcess implements Local: the servers are simulated in the harness.
func (*InMemory) InProcess() bool { return true }

// Options implements Service: the in-memory mutex has none.
func (*InMemory) Options() []option.Spec { return nil }

// Prepare implements Service: an in-memory lock never expires.
func (*InMemory) Prepare(p *plan.Plan) (time.Duration, error) {
	if p.Client != "" && p.Client != plan.ClientGo {
		return 0, fmt.Errorf("inmemory runs its servers inside the harness, so only its Go clients (--client go) can reach them, not %q", p.Client)
	}
	return 0, nil
}

// Setup creates one in-process server per node name.
func (m *InMemory) Setup(_ context.Context, env *Env) error {
	if len(env.Plan.Nodes) == 0 {
		return fmt.Errorf("inmemory: no nodes")
	}
	m.servers = map[string]*memServer{}
	for _, n := range env.Plan.Nodes {
		m.servers[n.Name] = &memServer{holders: map[string]int{}, freed: make(chan struct{})}
	}
	return nil
}

// Lease implements Service: an in-memory lock never expires.
func (*InMemory) Lease() time.Duration { return 0 }

// Ports implements Service: the servers listen on nothing.
func (*InMemory) Ports() map[string]int { return nil }

// Binding implements Service: clients call into this instance's servers.
func (m *InMemory) Binding() Binding { return memBinding{m} }

// Teardown implements Service.
func (*InMemory) Teardown(context.Context) error { return nil }

// memBinding creates clients of one InMemory's servers.
type memBinding struct{ m *InMemory }

// NewClient returns a client of the server on the client's node.
func (b memBinding) NewClient(_ context.Context, env ClientEnv) (Client, error) {
	srv, ok := b.m.servers[env.Node]
	if !ok {
		return nil, fmt.Errorf("inmemory: no server on node %q", env.Node)
	}
	return &memClient{srv: srv, node: env.Node, process: env.Process, wait: env.Plan.Wait}, nil
}

// memServer is one node's lock table: key -> holding process.
type memServer struct {
	mu      sync.Mutex
	holders map[string]int
	freed   chan struct{} // closed and replaced whenever a lock is freed
}

type memClient struct {
	srv     *memServer
	node    string
	process int
	wait    time.Duration
}

func (c *memClient) Acquire(ctx context.Context, key string) (Grant, error) {
	var deadline <-chan time.Time
	if c.wait > 0 {
		t := time.NewTimer(c.wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		c.srv.mu.Lock()
		if _, held := c.srv.holders[key]; !held {
			c.srv.holders[key] = c.process
			c.srv.mu.Unlock()
			return Grant{}, nil
		}
		freed := c.srv.freed
		c.srv.mu.Unlock()
		select {
		case <-freed:
		case <-deadline:
			return Grant{}, ErrNotAcquired
		case <-ctx.Done():
			// Nothing was taken: the table is only changed under the
			// mutex, above.
			return Grant{}, fmt.Errorf("%w: %v", ErrNotAcquired, ctx.Err())
		}
	}
}

func (c *memClient) Release(_ context.Context, key string) error {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	if p, held := c.srv.holders[key]; !held || p != c.process {
		return ErrNotHeld
	}
	delete(c.srv.holders, key)
	close(c.srv.freed)
	c.srv.freed = make(chan struct{})
	return nil
}

func (c *memClient) Node() string { return c.node }

// Abandon leaves the client's locks held forever: an in-memory lock has no
// expiry, like the chapter's naive row lock.
func (c *memClient) Abandon() {}

func (c *memClient) Close() error { return nil }
