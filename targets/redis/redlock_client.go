package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/go-redsync/redsync/v4"
	redsyncredis "github.com/go-redsync/redsync/v4/redis"
	redsyncgoredis "github.com/go-redsync/redsync/v4/redis/goredis/v9"
	goredis "github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/targets"
)

// redlockBinding is the Go binding of redlock: redsync over one go-redis
// client per node.
type redlockBinding struct{}

// NewClient returns a client with one go-redis client per node. Its home
// node (recorded in the history) is the client's node and comes first in
// its pool order, but every acquire goes to all nodes.
func (redlockBinding) NewClient(_ context.Context, env targets.ClientEnv) (targets.Client, error) {
	p := env.Plan
	n := len(p.Nodes)
	if n == 0 {
		return nil, fmt.Errorf("redlock: no nodes")
	}
	home := max(slices.Index(p.NodeNames(), env.Node), 0)
	obs := &redlockObserver{nodes: n, quorum: n/2 + 1}
	c := &redlockClient{node: p.Nodes[home].Name, obs: obs, quorum: n/2 + 1, held: map[string]*redsync.Mutex{}}
	var pools []redsyncredis.Pool
	for i := 0; i < n; i++ {
		addr, err := p.Addr(p.Nodes[(home+i)%n].Name, redisPort)
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("redlock: %w", err)
		}
		rdb := goredis.NewClient(redisClientOptions(addr))
		c.rdbs = append(c.rdbs, rdb)
		pools = append(pools, redlockPool{inner: redsyncgoredis.NewPool(rdb), obs: obs})
	}
	c.rs = redsync.New(pools...)
	retryDelay := redlockRetryDelayOpt.Get(p.Options)
	step := redlockAvgDelay
	if retryDelay > 0 {
		step = retryDelay
	}
	tries, ok := redlockRetriesOpt.Lookup(p.Options)
	if !ok {
		tries = int(p.Wait/step) + 1
	}
	process := env.Process
	c.opts = []redsync.Option{
		redsync.WithExpiry(p.Lease),
		redsync.WithTries(tries),
		redsync.WithDriftFactor(redlockDriftOpt.Get(p.Options)),
		redsync.WithGenValueFunc(func() (string, error) { return redisUniqueValue(process), nil }),
	}
	if retryDelay > 0 {
		c.opts = append(c.opts, redsync.WithRetryDelay(retryDelay))
	}
	return c, nil
}

// redlockClient is one process's Redlock client.
type redlockClient struct {
	node   string
	rdbs   []*goredis.Client
	rs     *redsync.Redsync
	opts   []redsync.Option
	obs    *redlockObserver
	quorum int

	mu   sync.Mutex
	held map[string]*redsync.Mutex
}

// Acquire runs redsync's LockContext (all its tries). The outcome is
// unknown when, in some try, the nodes that said yes plus those that did
// not answer for certain reached a quorum: those SETs may have taken the
// lock although redsync reports failure.
func (c *redlockClient) Acquire(ctx context.Context, key string) (targets.Grant, error) {
	m := c.rs.NewMutex(key, c.opts...)
	c.obs.begin(redlockLocking)
	err := m.LockContext(ctx)
	mayHold, tries := c.obs.endLock()
	if err == nil {
		c.mu.Lock()
		c.held[key] = m
		c.mu.Unlock()
		return targets.Grant{}, nil
	}
	if mayHold {
		return targets.Grant{}, fmt.Errorf("acquire %s: outcome unknown: a quorum of nodes may have set the key: %w", key, err)
	}
	return targets.Grant{}, fmt.Errorf("%w: %s (%d tries): %v", targets.ErrNotAcquired, key, tries, err)
}

// Release runs redsync's UnlockContext. It released the lock when a quorum
// deleted the value. When the nodes that deleted it plus those that did
// not answer for certain cannot reach a quorum, the client no longer held
// the lock (ErrNotHeld); otherwise the outcome is unknown.
func (c *redlockClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	m, ok := c.held[key]
	delete(c.held, key)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s was not acquired by this client", targets.ErrNotHeld, key)
	}
	c.obs.begin(redlockUnlocking)
	ok, err := m.UnlockContext(ctx)
	released, unsure := c.obs.endUnlock()
	if ok {
		return nil
	}
	if released+unsure >= c.quorum {
		return fmt.Errorf("release %s: outcome unknown (%d nodes released, %d unknown): %w", key, released, unsure, err)
	}
	return fmt.Errorf("%w: %s: only %d nodes still had the value: %v", targets.ErrNotHeld, key, released, err)
}

// Node names the client's home node.
func (c *redlockClient) Node() string { return c.node }

// Abandon closes every connection without releasing: only the keys' TTLs
// free the locks.
func (c *redlockClient) Abandon() {
	for _, rdb := range c.rdbs {
		_ = rdb.Close()
	}
}

// Close closes the connections.
func (c *redlockClient) Close() error {
	var errs []error
	for _, rdb := range c.rdbs {
		if err := rdb.Close(); err != nil && !errors.Is(err, goredis.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
