package targets

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// InMemory is the lock that people mistake for a distributed lock: every
// "server" (node) keeps its own in-process mutex table, and each client talks
// to one server. With one node it is a correct lock. With several, clients of
// different servers never see each other's locks, so mutual exclusion breaks
// at once: the chapter's "in-memory variable" lock.
type InMemory struct {
	nodes   []string
	servers map[string]*memServer
	wait    time.Duration
}

// NewInMemory returns the in-memory target.
func NewInMemory() *InMemory { return &InMemory{} }

// Name implements Target.
func (*InMemory) Name() string { return "inmemory" }

// Description implements Target.
func (*InMemory) Description() string {
	return "a mutex in each server's memory: correct on one node, broken across several (no containers)"
}

// DefaultNodes implements Target: three servers, so that the lock breaks
// by default, as it does across machines.
func (*InMemory) DefaultNodes() int { return 3 }

// InProcess implements Local: the servers are simulated in the harness.
func (*InMemory) InProcess() bool { return true }

// Setup creates one in-process server per node name.
func (m *InMemory) Setup(_ context.Context, env *Env) error {
	if len(env.Nodes) == 0 {
		return fmt.Errorf("inmemory: no nodes")
	}
	m.nodes = env.Nodes
	m.wait = env.Opts.Wait
	m.servers = map[string]*memServer{}
	for _, n := range env.Nodes {
		m.servers[n] = &memServer{holders: map[string]int{}, freed: make(chan struct{})}
	}
	return nil
}

// Lease implements Target: an in-memory lock never expires.
func (*InMemory) Lease() time.Duration { return 0 }

// NewClient returns a client of one server, chosen round-robin.
func (m *InMemory) NewClient(_ context.Context, process int) (Client, error) {
	node := NodeFor(m.nodes, process)
	return &memClient{srv: m.servers[node], node: node, process: process, wait: m.wait}, nil
}

// Teardown implements Target.
func (*InMemory) Teardown(context.Context) error { return nil }

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
