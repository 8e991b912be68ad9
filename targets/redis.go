package targets

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
)

// Redis is the single-instance Redis lock: SET key value NX PX ttl on one
// redis-server, released with a compare-and-delete script. Each grant also
// increments a per-key counter, which serves as the fencing token.
type Redis struct {
	cluster runtime.Cluster
	node    string
}

var redisPersistOpt = persistenceOption("redis")

// NewRedis returns the single-node Redis target.
func NewRedis() *Redis { return &Redis{} }

// Name implements Service.
func (*Redis) Name() string { return "redis" }

// Describe implements Service: one server.
func (*Redis) Describe() Descriptor {
	return Descriptor{
		Description:  "one redis-server: SET NX PX with a TTL, compare-and-delete release, INCR counter as fencing token",
		DefaultNodes: 1,
		Options:      option.Specs(redisPersistOpt),
		Ports:        map[string]int{"redis": redisPort},
	}
}

// Prepare implements Service: the key's TTL is the lease asked for.
func (*Redis) Prepare(p *plan.Plan) (time.Duration, error) { return p.TTL, nil }

// Setup writes the server's configuration on the first node, starts
// redis-server there with the clock shim and waits until it answers.
// Further nodes, if any, stay idle. The lease is the key's TTL.
func (r *Redis) Setup(ctx context.Context, env *Env) (time.Duration, error) {
	p := env.Plan
	if env.Cluster == nil || len(p.Nodes) == 0 {
		return 0, fmt.Errorf("redis: needs a cluster with at least one node")
	}
	redisUseLogger(env.Log)
	r.cluster, r.node = env.Cluster, p.Nodes[0].Name
	conf := redisConfig("", redisPersistConf(redisPersistOpt.Get(p.Options)), "")
	if err := redisWriteFile(ctx, env.Cluster, r.node, redisConfPath, conf); err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	if err := redisStartServer(ctx, env.Cluster, r.node, ""); err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	return p.TTL, nil
}

// Binding implements Service.
func (*Redis) Binding() Binding { return redisBinding{} }

// Teardown implements Service: the clients are closed by their owners.
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

// redisBinding is the Go binding of the redis target: go-redis with the
// SET NX PX + INCR script against the first node.
type redisBinding struct{}

// NewClient returns a client of the one server.
func (redisBinding) NewClient(_ context.Context, env ClientEnv) (Client, error) {
	p := env.Plan
	addr, err := redisAddr(p)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(redisClientOptions(addr))
	return newRedisScriptClient(rdb, p.Nodes[0].Name, env.Process, p.Lease, p.Wait), nil
}

// redisAddr is the address of the one server, on the plan's first node.
func redisAddr(p *plan.Plan) (string, error) {
	if len(p.Nodes) == 0 {
		return "", fmt.Errorf("redis: no nodes")
	}
	addr, err := p.Addr(p.Nodes[0].Name, redisPort)
	if err != nil {
		return "", fmt.Errorf("redis: %w", err)
	}
	return addr, nil
}
