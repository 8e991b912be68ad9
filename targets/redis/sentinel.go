package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
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
type Sentinel struct {
	cluster     runtime.Cluster
	plan        *plan.Plan
	nodes       []string
	ips         map[string]string
	quorum      int
	downAfter   time.Duration
	failover    time.Duration
	minReplicas int
	bin         string // the redis-server to install (Provision); "" for Debian's
}

// The options of the redis-sentinel target.
var (
	sentinelPersistOpt = persistenceOption("sentinel")
	sentinelQuorumOpt  = option.Int{Name: "sentinel.quorum", Min: 1, Max: plan.MaxNodes,
		Help: "sentinels that must agree that the primary is down (default: a majority)"}
	sentinelDownAfterOpt = option.Duration{Name: "sentinel.down-after", Default: time.Second, Min: time.Millisecond,
		Help: "how long the primary must be unreachable before a sentinel calls it down"}
	sentinelFailoverOpt = option.Duration{Name: "sentinel.failover-timeout", Default: 3 * time.Second, Min: time.Millisecond,
		Help: "the sentinels' failover timeout"}
	sentinelMinReplicasOpt = option.Int{Name: "sentinel.min-replicas", Min: 0, Max: plan.MaxNodes,
		Help: "min-replicas-to-write (with a 10s max lag); 0 lets the primary write alone"}
)

// NewSentinel returns the Redis Sentinel target.
func NewSentinel() *Sentinel { return &Sentinel{} }

// Name implements targets.Service.
func (*Sentinel) Name() string { return "redis-sentinel" }

// Describe implements targets.Service: a primary, two replicas and three
// sentinels by default.
func (*Sentinel) Describe() targets.Descriptor {
	return targets.Descriptor{
		Description:  "Redis primary + async replicas with Sentinel failover: SET NX PX via the failover client, INCR token",
		DefaultNodes: 3,
		Options:      option.Specs(redisServer.BinaryOption(), sentinelPersistOpt, sentinelQuorumOpt, sentinelDownAfterOpt, sentinelFailoverOpt, sentinelMinReplicasOpt),
		Ports:        map[string]int{"redis": redisPort, "sentinel": redisSentinelPort},
	}
}

// Prepare implements targets.Service: the quorum and the replicas a write needs
// must fit the nodes; the key's TTL is the lease asked for.
func (*Sentinel) Prepare(p *plan.Plan) (time.Duration, error) {
	n := len(p.Nodes)
	if n < 2 {
		return 0, fmt.Errorf("redis-sentinel needs at least 2 nodes (a primary and a replica), not %d", n)
	}
	if q, ok := sentinelQuorumOpt.Lookup(p.Options); ok && q > n {
		return 0, option.Errorf("sentinel.quorum=%d: want 1..%d, the number of sentinels", q, n)
	}
	if m := sentinelMinReplicasOpt.Get(p.Options); m > n-1 {
		return 0, option.Errorf("sentinel.min-replicas=%d: want 0..%d, the number of replicas", m, n-1)
	}
	return p.TTL, nil
}

// Provision implements targets.Provisioner: it checks the user's
// redis-server, if the run names one; it runs as the sentinels too.
func (s *Sentinel) Provision(ctx context.Context, p *plan.Plan, say func(string)) (err error) {
	s.bin, err = redisProvision(ctx, p, say)
	return err
}

// Setup starts redis-server on every node (n1 the primary, the others its
// replicas), waits until the replicas are in sync, then starts a sentinel
// on every node and waits until each one knows the primary, all replicas
// and all other sentinels. The lease is the key's TTL on the primary.
func (s *Sentinel) Setup(ctx context.Context, env *targets.Env) (time.Duration, error) {
	p := env.Plan
	if env.Cluster == nil || len(p.Nodes) < 2 {
		return 0, fmt.Errorf("redis-sentinel: needs a cluster with at least two nodes")
	}
	redisUseLogger(env.Log)
	s.cluster, s.plan, s.nodes, s.ips = env.Cluster, p, p.NodeNames(), map[string]string{}
	s.quorum, _ = sentinelQuorumOpt.Lookup(p.Options)
	if s.quorum == 0 {
		s.quorum = len(s.nodes)/2 + 1
	}
	s.downAfter = sentinelDownAfterOpt.Get(p.Options)
	s.failover = sentinelFailoverOpt.Get(p.Options)
	s.minReplicas = sentinelMinReplicasOpt.Get(p.Options)
	persist := redisPersistConf(sentinelPersistOpt.Get(p.Options))
	for _, n := range p.Nodes {
		s.ips[n.Name] = n.IP
	}
	if err := redisInstall(ctx, env, s.nodes, s.bin); err != nil {
		return 0, fmt.Errorf("redis-sentinel: %w", err)
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
		if err := redisWriteFile(ctx, s.cluster, n, redisConfPath, redisConfig(s.ips[n], persist, extra)); err != nil {
			return err
		}
		return redisStartServer(ctx, s.cluster, n, "")
	}); err != nil {
		return 0, fmt.Errorf("redis-sentinel: %w", err)
	}
	if err := sentinelWaitReplicas(ctx, s.cluster, primary, len(s.nodes)-1); err != nil {
		return 0, fmt.Errorf("redis-sentinel: %w", err)
	}
	if err := s.eachNode(func(n string) error {
		if err := redisWriteFile(ctx, s.cluster, n, sentinelConfPath, s.sentinelConfig(n)); err != nil {
			return err
		}
		return sentinelStart(ctx, s.cluster, n)
	}); err != nil {
		return 0, fmt.Errorf("redis-sentinel: %w", err)
	}
	if err := s.eachNode(func(n string) error {
		return sentinelWaitKnows(ctx, s.cluster, n, s.ips[primary], len(s.nodes)-1)
	}); err != nil {
		return 0, fmt.Errorf("redis-sentinel: %w", err)
	}
	return p.TTL, nil
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

// sentinelAddrs returns ip:26379 of every node of p.
func sentinelAddrs(p *plan.Plan) []string {
	var out []string
	for _, n := range p.Nodes {
		if addr, err := p.Addr(n.Name, redisSentinelPort); err == nil {
			out = append(out, addr)
		}
	}
	return out
}

// Binding implements targets.Service.
func (*Sentinel) Binding() targets.Binding { return sentinelBinding{} }

// Teardown implements targets.Service: the clients are closed by their owners.
func (*Sentinel) Teardown(context.Context) error { return nil }

// HasTokens implements targets.Fencer: the INCR counter is the token. It is
// replicated asynchronously like the lock, so after a failover it can go
// backwards.
func (*Sentinel) HasTokens() bool { return true }

// Expiry implements targets.Expirer: the key's PX is fixed when it is set.
func (*Sentinel) Expiry() targets.Expiry { return targets.FixedExpiry }

// Primaries implements targets.Primaries: the node that most reachable
// sentinels name as the primary.
func (s *Sentinel) Primaries(ctx context.Context) ([]string, error) {
	ip, err := sentinelCurrentPrimary(ctx, sentinelAddrs(s.plan))
	if err != nil {
		return nil, fmt.Errorf("redis-sentinel: %w", err)
	}
	node, ok := s.plan.NodeByIP(ip)
	if !ok {
		return nil, fmt.Errorf("redis-sentinel: primary %s is not a node of the run", ip)
	}
	return []string{node}, nil
}

// ServerProcess implements targets.Servers: the Redis server, whose pause or
// kill makes the sentinels fail over. The sentinels run as
// "redis-sentinel".
func (*Sentinel) ServerProcess(string) string { return redisProcess }

// StartServer implements targets.Servers: it starts the node's redis-server
// again (as a replica of the current primary when the sentinels have promoted
// another node), and its sentinel too if that is gone (after a kill of the
// whole node).
func (s *Sentinel) StartServer(ctx context.Context, node string) error {
	pids, err := targets.ServerPIDs(ctx, s.cluster, node, redisProcess)
	if err != nil {
		return fmt.Errorf("redis-sentinel: restart on %s: %w", node, err)
	}
	if len(pids) == 0 {
		args := ""
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		ip, perr := sentinelCurrentPrimary(pctx, sentinelAddrs(s.plan))
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

// ClockShimmed implements targets.ClockShimmed: redis-server and redis-sentinel
// both run with the clock shim.
func (*Sentinel) ClockShimmed() bool { return true }

// LogPaths implements targets.LogCollector: the server and sentinel logs, and
// the sentinel's rewritten configuration (which records failovers).
func (s *Sentinel) LogPaths() map[string][]string {
	out := map[string][]string{}
	for _, n := range s.nodes {
		out[n] = []string{redisLogPath, sentinelLogPath, sentinelConfPath}
	}
	return out
}
