package targets

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/runtime"
)

// Redis is the single-instance Redis lock: SET key value NX PX ttl on one
// redis-server, released with a compare-and-delete script. Each grant also
// increments a per-key counter, which serves as the fencing token.
//
// Options: redis.persistence = none (default), aof (appendonly yes,
// appendfsync everysec) or rdb (a snapshot every second with changes).
type Redis struct {
	cluster runtime.Cluster
	node    string
	addr    string
	persist string
	ttl     time.Duration
	wait    time.Duration
}

// NewRedis returns the single-node Redis target.
func NewRedis() *Redis { return &Redis{} }

// Name implements Target.
func (*Redis) Name() string { return "redis" }

// OptionNames implements Optioned.
func (*Redis) OptionNames() []string {
	return []string{"redis.persistence"}
}

// Description implements Target.
func (*Redis) Description() string {
	return "one redis-server: SET NX PX with a TTL, compare-and-delete release, INCR counter as fencing token"
}

// DefaultNodes implements Target: one server.
func (*Redis) DefaultNodes() int { return 1 }

// Setup writes the server's configuration on the first node, starts
// redis-server there with the clock shim and waits until it answers.
// Further nodes, if any, stay idle.
func (r *Redis) Setup(ctx context.Context, env *Env) error {
	if env.Cluster == nil || len(env.Nodes) == 0 {
		return fmt.Errorf("redis: needs a cluster with at least one node")
	}
	redisUseLogger(env.Log)
	persist, err := redisPersistence(env.Opts.Extra, "redis.persistence")
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	r.cluster, r.node, r.persist = env.Cluster, env.Nodes[0], persist
	r.ttl, r.wait = redisTTL(env.Opts), env.Opts.Wait
	if r.addr, err = NodeAddr(env.Cluster, r.node, redisPort); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if err := redisWriteFile(ctx, env.Cluster, r.node, redisConfPath, redisConfig("", persist, "")); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if err := redisStartServer(ctx, env.Cluster, r.node, ""); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Lease implements Target: the key's TTL.
func (r *Redis) Lease() time.Duration { return r.ttl }

// NewClient returns a client of the one server.
func (r *Redis) NewClient(_ context.Context, process int) (Client, error) {
	rdb := redis.NewClient(redisClientOptions(r.addr))
	return newRedisScriptClient(rdb, r.node, process, r.ttl, r.wait), nil
}

// Teardown implements Target: the clients are closed by their owners.
func (*Redis) Teardown(context.Context) error { return nil }

// HasTokens implements Fencer: the INCR counter is the token.
func (*Redis) HasTokens() bool { return true }

// Expiry implements Expirer: the key's PX is fixed when it is set.
func (*Redis) Expiry() Expiry { return FixedExpiry }

// Primaries implements Primaries: the one server.
func (r *Redis) Primaries(context.Context) ([]string, error) { return []string{r.node}, nil }

// ServerProcess implements Servers.
func (*Redis) ServerProcess(string) string { return redisProcess }

// StartServer implements Servers: it starts redis-server again with the
// same configuration. With persistence none, the restarted server is empty.
func (r *Redis) StartServer(ctx context.Context, node string) error {
	if node != r.node {
		return nil
	}
	if err := redisStartServer(ctx, r.cluster, node, ""); err != nil {
		return fmt.Errorf("redis: restart: %w", err)
	}
	return nil
}

// ClockShimmed implements ClockShimmed: redis-server reads the wall clock
// through libc (gettimeofday), which the shim shifts.
func (*Redis) ClockShimmed() bool { return true }

// LogPaths implements LogCollector.
func (r *Redis) LogPaths() map[string][]string {
	return map[string][]string{r.node: {redisLogPath}}
}
