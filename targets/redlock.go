package targets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-redsync/redsync/v4"
	redsyncredis "github.com/go-redsync/redsync/v4/redis"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/runtime"
)

// redlockAvgDelay is the mean of redsync's default retry delay, a random
// 50-250 ms; it sizes the default number of tries to the wait budget.
const redlockAvgDelay = 150 * time.Millisecond

// Redlock is Redis's distributed lock algorithm over independent
// redis-server nodes (five by default), through go-redsync/redsync: a
// client SETs the key NX PX on every node and holds the lock if a majority
// said yes within the validity time. Redlock has no fencing token.
//
// Options: redlock.quorum (only the majority: redsync fixes it),
// redlock.drift-factor (0.01), redlock.retries (tries; default enough to
// cover the wait budget), redlock.retry-delay (default redsync's random
// 50-250 ms), redlock.persistence (none, aof or rdb).
type Redlock struct {
	cluster    runtime.Cluster
	nodes      []string
	addrs      []string
	ttl        time.Duration
	quorum     int
	drift      float64
	tries      int
	retryDelay time.Duration
}

// NewRedlock returns the Redlock target.
func NewRedlock() *Redlock { return &Redlock{} }

// Name implements Target.
func (*Redlock) Name() string { return "redlock" }

// OptionNames implements Optioned.
func (*Redlock) OptionNames() []string {
	return []string{"redlock.persistence", "redlock.quorum", "redlock.drift-factor", "redlock.retry-delay", "redlock.retries"}
}

// Description implements Target.
func (*Redlock) Description() string {
	return "Redlock (redsync) over independent redis-servers: majority of SET NX PX within the validity time, no fencing token"
}

// DefaultNodes implements Target: five masters, as the algorithm's
// description suggests.
func (*Redlock) DefaultNodes() int { return 5 }

// Setup starts one independent redis-server on every node, with the clock
// shim, and waits until all answer.
func (r *Redlock) Setup(ctx context.Context, env *Env) error {
	if env.Cluster == nil || len(env.Nodes) == 0 {
		return fmt.Errorf("redlock: needs a cluster with at least one node")
	}
	redisUseLogger(env.Log)
	if err := r.parse(env); err != nil {
		return fmt.Errorf("redlock: %w", err)
	}
	persist, err := redisPersistence(env.Opts.Extra, "redlock.persistence")
	if err != nil {
		return fmt.Errorf("redlock: %w", err)
	}
	r.cluster, r.nodes, r.addrs = env.Cluster, env.Nodes, nil
	for _, n := range env.Nodes {
		addr, err := NodeAddr(env.Cluster, n, redisPort)
		if err != nil {
			return fmt.Errorf("redlock: %w", err)
		}
		r.addrs = append(r.addrs, addr)
	}
	errs := make([]error, len(r.nodes))
	var wg sync.WaitGroup
	for i, n := range r.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := redisWriteFile(ctx, env.Cluster, n, redisConfPath, redisConfig("", persist, "")); err != nil {
				errs[i] = err
				return
			}
			errs[i] = redisStartServer(ctx, env.Cluster, n, "")
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("redlock: %w", err)
	}
	return nil
}

// parse reads the redlock.* options.
func (r *Redlock) parse(env *Env) error {
	o := env.Opts.Extra
	r.ttl = redisTTL(env.Opts)
	majority := len(env.Nodes)/2 + 1
	var err error
	if r.quorum, err = redisIntOpt(o, "redlock.quorum", majority); err != nil {
		return err
	}
	if r.quorum != majority {
		return fmt.Errorf("%w: option redlock.quorum=%d: redsync fixes the quorum at a majority, %d of %d nodes", ErrBadOption, r.quorum, majority, len(env.Nodes))
	}
	if r.drift, err = redisFloatOpt(o, "redlock.drift-factor", 0.01); err != nil {
		return err
	}
	if r.drift < 0 || r.drift >= 1 {
		return fmt.Errorf("%w: option redlock.drift-factor=%g: want 0 <= f < 1", ErrBadOption, r.drift)
	}
	if r.retryDelay, err = redisDurationOpt(o, "redlock.retry-delay", 0); err != nil {
		return err
	}
	step := redlockAvgDelay
	if r.retryDelay > 0 {
		step = r.retryDelay
	}
	if r.tries, err = redisIntOpt(o, "redlock.retries", int(env.Opts.Wait/step)+1); err != nil {
		return err
	}
	if r.tries < 1 {
		return fmt.Errorf("%w: option redlock.retries=%d: want at least 1", ErrBadOption, r.tries)
	}
	return nil
}

// Lease implements Target: the key's TTL on each node. redsync tells the
// caller a shorter validity (TTL minus the time the acquire took and the
// drift allowance), but each node honours the full TTL, so that is the
// upper bound the service keeps.
func (r *Redlock) Lease() time.Duration { return r.ttl }

// NewClient returns a client with one go-redis client per node. Its home
// node (recorded in the history) is chosen round-robin and comes first in
// its pool order, but every acquire goes to all nodes.
func (r *Redlock) NewClient(_ context.Context, process int) (Client, error) {
	n := len(r.addrs)
	home := process % n
	if home < 0 {
		home = -home
	}
	obs := &redlockObserver{nodes: n, quorum: n/2 + 1}
	c := &redlockClient{node: r.nodes[home], obs: obs, quorum: n/2 + 1, held: map[string]*redsync.Mutex{}}
	var pools []redsyncredis.Pool
	for i := 0; i < n; i++ {
		rdb := redis.NewClient(redisClientOptions(r.addrs[(home+i)%n]))
		c.rdbs = append(c.rdbs, rdb)
		pools = append(pools, redlockPool{inner: goredis.NewPool(rdb), obs: obs})
	}
	c.rs = redsync.New(pools...)
	c.opts = []redsync.Option{
		redsync.WithExpiry(r.ttl),
		redsync.WithTries(r.tries),
		redsync.WithDriftFactor(r.drift),
		redsync.WithGenValueFunc(func() (string, error) { return redisUniqueValue(process), nil }),
	}
	if r.retryDelay > 0 {
		c.opts = append(c.opts, redsync.WithRetryDelay(r.retryDelay))
	}
	return c, nil
}

// Teardown implements Target: the clients are closed by their owners.
func (*Redlock) Teardown(context.Context) error { return nil }

// HasTokens implements Fencer: Redlock gives no fencing token.
func (*Redlock) HasTokens() bool { return false }

// Expiry implements Expirer: every node's key has a fixed PX (the client
// does not extend it).
func (*Redlock) Expiry() Expiry { return FixedExpiry }

// ServerProcess implements Servers.
func (*Redlock) ServerProcess(string) string { return redisProcess }

// StartServer implements Servers: it starts the node's redis-server again
// with the same configuration (empty again with persistence none).
func (r *Redlock) StartServer(ctx context.Context, node string) error {
	if err := redisStartServer(ctx, r.cluster, node, ""); err != nil {
		return fmt.Errorf("redlock: restart: %w", err)
	}
	return nil
}

// ClockShimmed implements ClockShimmed: each node's key expiry follows its
// own shimmed wall clock, so one node's clock can be moved alone.
func (*Redlock) ClockShimmed() bool { return true }

// LogPaths implements LogCollector.
func (r *Redlock) LogPaths() map[string][]string {
	out := map[string][]string{}
	for _, n := range r.nodes {
		out[n] = []string{redisLogPath}
	}
	return out
}

// redlockClient is one process's Redlock client.
type redlockClient struct {
	node   string
	rdbs   []*redis.Client
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
func (c *redlockClient) Acquire(ctx context.Context, key string) (Grant, error) {
	m := c.rs.NewMutex(key, c.opts...)
	c.obs.begin(redlockLocking)
	err := m.LockContext(ctx)
	mayHold, tries := c.obs.endLock()
	if err == nil {
		c.mu.Lock()
		c.held[key] = m
		c.mu.Unlock()
		return Grant{}, nil
	}
	if mayHold {
		return Grant{}, fmt.Errorf("acquire %s: outcome unknown: a quorum of nodes may have set the key: %w", key, err)
	}
	return Grant{}, fmt.Errorf("%w: %s (%d tries): %v", ErrNotAcquired, key, tries, err)
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
		return fmt.Errorf("%w: %s was not acquired by this client", ErrNotHeld, key)
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
	return fmt.Errorf("%w: %s: only %d nodes still had the value: %v", ErrNotHeld, key, released, err)
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
		if err := rdb.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
