package targets

import (
	"context"
	"fmt"
	"sync"
	"time"

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

// Describe implements Service: three servers by default, so that the lock
// breaks, as it does across machines; no options, and no ports, since the
// servers listen on nothing.
func (*InMemory) Describe() Descriptor {
	return Descriptor{
		Description:  "a mutex in each server's memory: correct on one node, broken across several (no containers)",
		DefaultNodes: 3,
	}
}

// InProcess implements Local: the servers are simulated in the harness.
func (*InMemory) InProcess() bool { return true }

// Prepare implements Service: an in-memory lock never expires.
func (*InMemory) Prepare(p *plan.Plan) (time.Duration, error) {
	if p.Client != "" && p.Client != plan.ClientGo {
		return 0, fmt.Errorf("inmemory runs its servers inside the harness, so only its Go clients (--client go) can reach them, not %q", p.Client)
	}
	return 0, nil
}

// Setup creates one in-process server per node name. An in-memory lock
// never expires: the lease is zero.
func (m *InMemory) Setup(_ context.Context, env *Env) (time.Duration, error) {
	if len(env.Plan.Nodes) == 0 {
		return 0, fmt.Errorf("inmemory: no nodes")
	}
	m.servers = map[string]*memServer{}
	for _, n := range env.Plan.Nodes {
		m.servers[n.Name] = &memServer{holders: map[string]int{}, freed: make(chan struct{})}
	}
	return 0, nil
}

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

// memStore is the in-memory target's store: one table in the harness that
// every "server" shares, as the chapter's servers share one database.
type memStore struct {
	mu    sync.Mutex
	stock map[string]memStock
}

type memStock struct{ n, version int64 }

// NewStore implements Stocker.
func (m *InMemory) NewStore(context.Context, ClientEnv) (Store, error) {
	m.storeOnce.Do(func() { m.store = &memStore{stock: map[string]memStock{}} })
	return memStoreClient{m.store}, nil
}

// Decrements implements Stocker.
func (*InMemory) Decrements() bool { return true }

type memStoreClient struct{ s *memStore }

func (c memStoreClient) Put(_ context.Context, key string, n int64) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.stock[key] = memStock{n: n, version: c.s.stock[key].version + 1}
	return nil
}

func (c memStoreClient) Get(_ context.Context, key string) (int64, int64, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	st, ok := c.s.stock[key]
	if !ok {
		return 0, 0, NoEffect(fmt.Errorf("no stock for %s", key))
	}
	return st.n, st.version, nil
}

func (c memStoreClient) Set(_ context.Context, key string, n int64) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.stock[key] = memStock{n: n, version: c.s.stock[key].version + 1}
	return nil
}

func (c memStoreClient) SetIf(_ context.Context, key string, n, version int64) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	st := c.s.stock[key]
	if st.version != version {
		return ErrConflict
	}
	c.s.stock[key] = memStock{n: n, version: version + 1}
	return nil
}

func (c memStoreClient) Decrement(_ context.Context, key string) (int64, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	st := c.s.stock[key]
	if st.n <= 0 {
		return st.n, ErrOutOfStock
	}
	c.s.stock[key] = memStock{n: st.n - 1, version: st.version + 1}
	return st.n - 1, nil
}

func (memStoreClient) Close() error { return nil }
