package targets

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/runtime"
)

// sentinelMaster is the name under which the sentinels monitor the primary.
const sentinelMaster = "lockstorm"

// Sentinel is Redis with asynchronous replication and Redis Sentinel for
// failover: n1 starts as the primary, the other nodes replicate it, and a
// redis-sentinel on every node promotes a replica when a quorum of them
// cannot reach the primary. Clients find the primary through the
// sentinels (go-redis's failover client) and lock with the same SET NX PX
// + INCR script as the redis target. A failover can lose the last writes,
// and with them granted locks and fencing-counter increments.
//
// Options: sentinel.persistence (none, aof or rdb), sentinel.quorum
// (default a majority of the sentinels), sentinel.down-after (1s),
// sentinel.failover-timeout (3s), sentinel.min-replicas (0: writes need no
// replica; N sets min-replicas-to-write N with a 10 s max lag).
type Sentinel struct {
	cluster     runtime.Cluster
	nodes       []string
	ips         map[string]string
	persist     string
	ttl         time.Duration
	wait        time.Duration
	quorum      int
	downAfter   time.Duration
	failover    time.Duration
	minReplicas int
}

// NewSentinel returns the Redis Sentinel target.
func NewSentinel() *Sentinel { return &Sentinel{} }

// Name implements Target.
func (*Sentinel) Name() string { return "redis-sentinel" }

// OptionNames implements Optioned.
func (*Sentinel) OptionNames() []string {
	return []string{"sentinel.persistence", "sentinel.quorum", "sentinel.down-after", "sentinel.failover-timeout", "sentinel.min-replicas"}
}

// Description implements Target.
func (*Sentinel) Description() string {
	return "Redis primary + async replicas with Sentinel failover: SET NX PX via the failover client, INCR token"
}

// DefaultNodes implements Target: a primary, two replicas, three
// sentinels.
func (*Sentinel) DefaultNodes() int { return 3 }

// Setup starts redis-server on every node (n1 the primary, the others its
// replicas), waits until the replicas are in sync, then starts a sentinel
// on every node and waits until each one knows the primary, all replicas
// and all other sentinels.
func (s *Sentinel) Setup(ctx context.Context, env *Env) error {
	if env.Cluster == nil || len(env.Nodes) < 2 {
		return fmt.Errorf("redis-sentinel: needs a cluster with at least two nodes")
	}
	redisUseLogger(env.Log)
	if err := s.parse(env); err != nil {
		return fmt.Errorf("redis-sentinel: %w", err)
	}
	s.cluster, s.nodes, s.ips = env.Cluster, env.Nodes, map[string]string{}
	for _, n := range s.nodes {
		ip, err := redisNodeIP(env.Cluster, n)
		if err != nil {
			return fmt.Errorf("redis-sentinel: %w", err)
		}
		s.ips[n] = ip
	}
	primary := s.nodes[0]
	if err := s.eachNode(func(n string) error {
		extra := ""
		if s.minReplicas > 0 {
			extra += fmt.Sprintf("min-replicas-to-write %d\nmin-replicas-max-lag 10\n", s.minReplicas)
		}
		if n != primary {
			extra += fmt.Sprintf("replicaof %s %d\n", s.ips[primary], redisPort)
		}
		if err := redisWriteFile(ctx, s.cluster, n, redisConfPath, redisConfig(s.ips[n], s.persist, extra)); err != nil {
			return err
		}
		return redisStartServer(ctx, s.cluster, n, "")
	}); err != nil {
		return fmt.Errorf("redis-sentinel: %w", err)
	}
	if err := sentinelWaitReplicas(ctx, s.cluster, primary, len(s.nodes)-1); err != nil {
		return fmt.Errorf("redis-sentinel: %w", err)
	}
	if err := s.eachNode(func(n string) error {
		if err := redisWriteFile(ctx, s.cluster, n, sentinelConfPath, s.sentinelConfig(n)); err != nil {
			return err
		}
		return sentinelStart(ctx, s.cluster, n)
	}); err != nil {
		return fmt.Errorf("redis-sentinel: %w", err)
	}
	if err := s.eachNode(func(n string) error {
		return sentinelWaitKnows(ctx, s.cluster, n, s.ips[primary], len(s.nodes)-1)
	}); err != nil {
		return fmt.Errorf("redis-sentinel: %w", err)
	}
	return nil
}

// parse reads the sentinel.* options.
func (s *Sentinel) parse(env *Env) error {
	o := env.Opts.Extra
	s.ttl, s.wait = redisTTL(env.Opts), env.Opts.Wait
	var err error
	if s.persist, err = redisPersistence(o, "sentinel.persistence"); err != nil {
		return err
	}
	n := len(env.Nodes)
	if s.quorum, err = redisIntOpt(o, "sentinel.quorum", n/2+1); err != nil {
		return err
	}
	if s.quorum < 1 || s.quorum > n {
		return fmt.Errorf("%w: option sentinel.quorum=%d: want 1..%d", ErrBadOption, s.quorum, n)
	}
	if s.downAfter, err = redisDurationOpt(o, "sentinel.down-after", time.Second); err != nil {
		return err
	}
	if s.failover, err = redisDurationOpt(o, "sentinel.failover-timeout", 3*time.Second); err != nil {
		return err
	}
	if s.downAfter < time.Millisecond || s.failover < time.Millisecond {
		return fmt.Errorf("%w: options sentinel.down-after and sentinel.failover-timeout must be at least 1ms", ErrBadOption)
	}
	if s.minReplicas, err = redisIntOpt(o, "sentinel.min-replicas", 0); err != nil {
		return err
	}
	if s.minReplicas < 0 || s.minReplicas > n-1 {
		return fmt.Errorf("%w: option sentinel.min-replicas=%d: want 0..%d", ErrBadOption, s.minReplicas, n-1)
	}
	return nil
}

// sentinelConfig is the sentinel.conf of node; the sentinel rewrites it as
// it learns about replicas, other sentinels and failovers.
func (s *Sentinel) sentinelConfig(node string) string {
	return fmt.Sprintf("port %d\nbind 0.0.0.0\nprotected-mode no\ndaemonize no\nlogfile \"\"\ndir %s\n"+
		"sentinel announce-ip %s\n"+
		"sentinel monitor %s %s %d %d\n"+
		"sentinel down-after-milliseconds %s %d\n"+
		"sentinel failover-timeout %s %d\n"+
		"sentinel parallel-syncs %s 1\n",
		redisSentinelPort, redisDir, s.ips[node],
		sentinelMaster, s.ips[s.nodes[0]], redisPort, s.quorum,
		sentinelMaster, s.downAfter.Milliseconds(),
		sentinelMaster, s.failover.Milliseconds(),
		sentinelMaster)
}

// eachNode runs f on every node at once and joins the errors.
func (s *Sentinel) eachNode(f func(node string) error) error {
	errs := make([]error, len(s.nodes))
	var wg sync.WaitGroup
	for i, n := range s.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sentinelAddrs returns ip:26379 of every node.
func (s *Sentinel) sentinelAddrs() []string {
	var out []string
	for _, n := range s.nodes {
		addr, _ := NodeAddr(s.cluster, n, redisSentinelPort)
		out = append(out, addr)
	}
	return out
}

// Lease implements Target: the key's TTL on the primary.
func (s *Sentinel) Lease() time.Duration { return s.ttl }

// NewClient returns a go-redis failover client that asks the sentinels
// for the primary. The node it reports is the primary it last connected
// to (before its first connection, a nominal round-robin node), so that a
// fault aimed at the holder's node hits the primary the holder uses.
func (s *Sentinel) NewClient(_ context.Context, process int) (Client, error) {
	c := &sentinelClient{}
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:            sentinelMaster,
		SentinelAddrs:         s.sentinelAddrs(),
		MaxRetries:            -1,
		DialTimeout:           redisIOTimeout,
		DialerRetries:         1,
		ReadTimeout:           redisIOTimeout,
		WriteTimeout:          redisIOTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              2,
		DisableIdentity:       true,
		// go-redis dials the primary that the sentinels name through this
		// dialer, and the sentinels themselves on their own port.
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, port, err := net.SplitHostPort(addr); err == nil && port == strconv.Itoa(redisPort) {
				if node, ok := redisNodeByIP(s.cluster, host); ok {
					c.primary.Store(&node)
				}
			}
			d := net.Dialer{Timeout: redisIOTimeout}
			return d.DialContext(ctx, network, addr)
		},
	})
	c.redisScriptClient = newRedisScriptClient(rdb, NodeFor(s.nodes, process), process, s.ttl, s.wait)
	return c, nil
}

// sentinelClient is a redisScriptClient that names the primary it last
// connected to as its node.
type sentinelClient struct {
	*redisScriptClient
	primary atomic.Pointer[string]
}

// Node implements Client.
func (c *sentinelClient) Node() string {
	if p := c.primary.Load(); p != nil {
		return *p
	}
	return c.redisScriptClient.Node()
}

// Teardown implements Target: the clients are closed by their owners.
func (*Sentinel) Teardown(context.Context) error { return nil }

// HasTokens implements Fencer: the INCR counter is the token. It is
// replicated asynchronously like the lock, so after a failover it can go
// backwards.
func (*Sentinel) HasTokens() bool { return true }

// Expiry implements Expirer: the key's PX is fixed when it is set.
func (*Sentinel) Expiry() Expiry { return FixedExpiry }

// Primaries implements Primaries: the node that most reachable sentinels
// name as the primary.
func (s *Sentinel) Primaries(ctx context.Context) ([]string, error) {
	ip, err := sentinelCurrentPrimary(ctx, s.sentinelAddrs())
	if err != nil {
		return nil, fmt.Errorf("redis-sentinel: %w", err)
	}
	node, ok := redisNodeByIP(s.cluster, ip)
	if !ok {
		return nil, fmt.Errorf("redis-sentinel: primary %s is not a node of the run", ip)
	}
	return []string{node}, nil
}

// ServerProcess implements Servers: the Redis server, whose pause or
// kill makes the sentinels fail over. The sentinels run as
// "redis-sentinel".
func (*Sentinel) ServerProcess(string) string { return redisProcess }

// StartServer implements Servers: it starts the node's redis-server again
// (as a replica of the current primary when the sentinels have promoted
// another node), and its sentinel too if that is gone (after a kill of the
// whole node).
func (s *Sentinel) StartServer(ctx context.Context, node string) error {
	pids, err := ServerPIDs(ctx, s.cluster, node, redisProcess)
	if err != nil {
		return fmt.Errorf("redis-sentinel: restart on %s: %w", node, err)
	}
	if len(pids) == 0 {
		args := ""
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		ip, perr := sentinelCurrentPrimary(pctx, s.sentinelAddrs())
		cancel()
		if perr == nil && ip != s.ips[node] {
			args = fmt.Sprintf("--replicaof %s %d", ip, redisPort)
		}
		if err := redisStartServer(ctx, s.cluster, node, args); err != nil {
			return fmt.Errorf("redis-sentinel: restart: %w", err)
		}
	}
	if err := sentinelStart(ctx, s.cluster, node); err != nil {
		return fmt.Errorf("redis-sentinel: restart sentinel: %w", err)
	}
	return nil
}

// ClockShimmed implements ClockShimmed: redis-server and redis-sentinel
// both run with the clock shim.
func (*Sentinel) ClockShimmed() bool { return true }

// LogPaths implements LogCollector: the server and sentinel logs, and the
// sentinel's rewritten configuration (which records failovers).
func (s *Sentinel) LogPaths() map[string][]string {
	out := map[string][]string{}
	for _, n := range s.nodes {
		out[n] = []string{redisLogPath, sentinelLogPath, sentinelConfPath}
	}
	return out
}
