package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// SetNX is the redis target, the single-instance Redis lock: SET key
// value NX PX ttl on one redis-server, released with a compare-and-delete
// script. Each grant also increments a per-key counter, which serves as
// the fencing token.
type SetNX struct {
	cluster runtime.Cluster
	node    string
	bin     string // the redis-server to install (Provision); "" for Debian's
}

var redisPersistOpt = persistenceOption("redis")

// New returns the single-node Redis target.
func New() *SetNX { return &SetNX{} }

// Name implements targets.Service.
func (*SetNX) Name() string { return "redis" }

// Describe implements targets.Service: one server.
func (*SetNX) Describe() targets.Descriptor {
	return targets.Descriptor{
		Description:  "one redis-server: SET NX PX with a TTL, compare-and-delete release, INCR counter as fencing token",
		DefaultNodes: 1,
		Options:      option.Specs(redisPersistOpt, redisServer.BinaryOption()),
		Ports:        map[string]int{"redis": redisPort},
	}
}

// Prepare implements targets.Service: the key's TTL is the lease asked for.
func (*SetNX) Prepare(p *plan.Plan) (time.Duration, error) { return p.TTL, nil }

// Provision implements targets.Provisioner: it checks the user's
// redis-server, if the run names one.
func (r *SetNX) Provision(ctx context.Context, p *plan.Plan, say func(string)) (err error) {
	r.bin, err = redisProvision(ctx, p, say)
	return err
}

// Setup writes the server's configuration on the first node, starts
// redis-server there with the clock shim and waits until it answers.
// Further nodes, if any, stay idle. The lease is the key's TTL.
func (r *SetNX) Setup(ctx context.Context, env *targets.Env) (time.Duration, error) {
	p := env.Plan
	if env.Cluster == nil || len(p.Nodes) == 0 {
		return 0, fmt.Errorf("redis: needs a cluster with at least one node")
	}
	redisUseLogger(env.Log)
	r.cluster, r.node = env.Cluster, p.Nodes[0].Name
	if err := redisInstall(ctx, env, []string{r.node}, r.bin); err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	conf := redisConfig("", redisPersistConf(redisPersistOpt.Get(p.Options)), "")
	if err := redisWriteFile(ctx, env.Cluster, r.node, redisConfPath, conf); err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	if err := redisStartServer(ctx, env.Cluster, r.node, ""); err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	return p.TTL, nil
}

// Binding implements targets.Service.
func (*SetNX) Binding() targets.Binding { return redisBinding{} }

// Teardown implements targets.Service: the clients are closed by their owners.
func (*SetNX) Teardown(context.Context) error { return nil }

// HasTokens implements targets.Fencer: the INCR counter is the token.
func (*SetNX) HasTokens() bool { return true }

// Expiry implements targets.Expirer: the key's PX is fixed when it is set.
func (*SetNX) Expiry() targets.Expiry { return targets.FixedExpiry }

// Primaries implements targets.Primaries: the one server.
func (r *SetNX) Primaries(context.Context) ([]string, error) { return []string{r.node}, nil }

// ServerProcess implements targets.Servers.
func (*SetNX) ServerProcess(string) string { return redisProcess }

// StartServer implements targets.Servers: it starts redis-server again with the
// same configuration. With persistence none, the restarted server is empty.
func (r *SetNX) StartServer(ctx context.Context, node string) error {
	if node != r.node {
		return nil
	}
	if err := redisStartServer(ctx, r.cluster, node, ""); err != nil {
		return fmt.Errorf("redis: restart: %w", err)
	}
	return nil
}

// ClockShimmed implements targets.ClockShimmed: redis-server reads the wall
// clock through libc (gettimeofday), which the shim shifts.
func (*SetNX) ClockShimmed() bool { return true }

// LogPaths implements targets.LogCollector.
func (r *SetNX) LogPaths() map[string][]string {
	return map[string][]string{r.node: {redisLogPath}}
}
