package targets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-redsync/redsync/v4"
	redsyncredis "github.com/go-redsync/redsync/v4/redis"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
)

// redlockAvgDelay is the mean of redsync's default retry delay, a random
// 50-250 ms; it sizes the default number of tries to the wait budget.
const redlockAvgDelay = 150 * time.Millisecond

// Redlock is Redis's distributed lock algorithm over independent
// redis-server nodes (five by default), through go-redsync/redsync: a
// client SETs the key NX PX on every node and holds the lock if a majority
// said yes within the validity time. Redlock has no fencing token.
type Redlock struct {
	cluster runtime.Cluster
	nodes   []string
}

// The options of the redlock target: the servers' persistence, and the
// settings of redsync in the Go binding.
var (
	redlockPersistOpt = persistenceOption("redlock")
	redlockQuorumOpt  = option.Int{Name: "redlock.quorum", Min: 1, Max: plan.MaxNodes,
		Help: "nodes that must grant; redsync fixes it at a majority, so only that value is accepted"}
	redlockDriftOpt = option.Float{Name: "redlock.drift-factor", Default: 0.01, Min: 0, Max: 0.99,
		Help: "share of the TTL that redsync subtracts from the validity for clock drift"}
	redlockRetryDelayOpt = option.Duration{Name: "redlock.retry-delay",
		Help: "pause between tries (default: redsync's random 50-250ms)"}
	redlockRetriesOpt = option.Int{Name: "redlock.retries", Min: 1,
		Help: "tries of one acquire (default: enough to cover the wait budget)"}
)

// NewRedlock returns the Redlock target.
func NewRedlock() *Redlock { return &Redlock{} }

// Name implements Service.
func (*Redlock) Name() string { return "redlock" }

// Describe implements Service: five masters by default, as the
// algorithm's description suggests.
func (*Redlock) Describe() Descriptor {
	return Descriptor{
		Description:  "Redlock (redsync) over independent redis-servers: majority of SET NX PX within the validity time, no fencing token",
		DefaultNodes: 5,
		Options:      option.Specs(redlockPersistOpt, redlockQuorumOpt, redlockDriftOpt, redlockRetryDelayOpt, redlockRetriesOpt),
		Ports:        map[string]int{"redis": redisPort},
	}
}

// Prepare implements Service: the quorum can only be the majority that
// redsync fixes, and the key's TTL is the lease asked for.
func (*Redlock) Prepare(p *plan.Plan) (time.Duration, error) {
	majority := len(p.Nodes)/2 + 1
	if q, ok := redlockQuorumOpt.Lookup(p.Options); ok && q != majority {
		return 0, option.Errorf("redlock.quorum=%d: redsync fixes the quorum at a majority, %d of %d nodes", q, majority, len(p.Nodes))
	}
	return p.TTL, nil
}

// Setup starts one independent redis-server on every node, with the clock
// shim, and waits until all answer. The lease is the key's TTL on each
// node. redsync tells the caller a shorter validity (TTL minus the time
// the acquire took and the drift allowance), but each node honours the
// full TTL, so that is the upper bound the service keeps.
func (r *Redlock) Setup(ctx context.Context, env *Env) (time.Duration, error) {
	p := env.Plan
	if env.Cluster == nil || len(p.Nodes) == 0 {
		return 0, fmt.Errorf("redlock: needs a cluster with at least one node")
	}
	redisUseLogger(env.Log)
	r.cluster, r.nodes = env.Cluster, p.NodeNames()
	conf := redisConfig("", redisPersistConf(redlockPersistOpt.Get(p.Options)), "")
	errs := make([]error, len(r.nodes))
	var wg sync.WaitGroup
	for i, n := range r.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := redisWriteFile(ctx, env.Cluster, n, redisConfPath, conf); err != nil {
				errs[i] = err
				return
			}
			errs[i] = redisStartServer(ctx, env.Cluster, n, "")
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, fmt.Errorf("redlock: %w", err)
	}
	return p.TTL, nil
}

// Binding implements Service.
func (*Redlock) Binding() Binding { return redlockBinding{} }

// Teardown implements Service: the clients are closed by their owners.
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

// redlockBinding is the Go binding of redlock: redsync over one go-redis
// client per node.
type redlockBinding struct{}

// NewClient returns a client with one go-redis client per node. Its home
// node (recorded in the history) is the client's node and comes first in
// its pool order, but every acquire goes to all nodes.
func (redlockBinding) NewClient(_ context.Context, env ClientEnv) (Client, error) {
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
		rdb := redis.NewClient(redisClientOptions(addr))
		c.rdbs = append(c.rdbs, rdb)
		pools = append(pools, redlockPool{inner: goredis.NewPool(rdb), obs: obs})
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
