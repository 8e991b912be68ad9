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
	bin     string // the redis-server to install (Provision); "" for Debian's
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

// Name implements targets.Service.
func (*Redlock) Name() string { return "redlock" }

// Describe implements targets.Service: five masters by default, as the
// algorithm's description suggests.
func (*Redlock) Describe() targets.Descriptor {
	return targets.Descriptor{
		Description:  "Redlock (redsync) over independent redis-servers: majority of SET NX PX within the validity time, no fencing token",
		DefaultNodes: 5,
		Options:      option.Specs(redisServer.BinaryOption(), redlockPersistOpt, redlockQuorumOpt, redlockDriftOpt, redlockRetryDelayOpt, redlockRetriesOpt),
		Ports:        map[string]int{"redis": redisPort},
	}
}

// Prepare implements targets.Service: the quorum can only be the majority that
// redsync fixes, and the key's TTL is the lease asked for.
func (*Redlock) Prepare(p *plan.Plan) (time.Duration, error) {
	majority := len(p.Nodes)/2 + 1
	if q, ok := redlockQuorumOpt.Lookup(p.Options); ok && q != majority {
		return 0, option.Errorf("redlock.quorum=%d: redsync fixes the quorum at a majority, %d of %d nodes", q, majority, len(p.Nodes))
	}
	return p.TTL, nil
}

// Provision implements targets.Provisioner: it checks the user's
// redis-server, if the run names one.
func (r *Redlock) Provision(ctx context.Context, p *plan.Plan, say func(string)) (err error) {
	r.bin, err = redisProvision(ctx, p, say)
	return err
}

// Setup starts one independent redis-server on every node, with the clock
// shim, and waits until all answer. The lease is the key's TTL on each
// node. redsync tells the caller a shorter validity (TTL minus the time
// the acquire took and the drift allowance), but each node honours the
// full TTL, so that is the upper bound the service keeps.
func (r *Redlock) Setup(ctx context.Context, env *targets.Env) (time.Duration, error) {
	p := env.Plan
	if env.Cluster == nil || len(p.Nodes) == 0 {
		return 0, fmt.Errorf("redlock: needs a cluster with at least one node")
	}
	redisUseLogger(env.Log)
	r.cluster, r.nodes = env.Cluster, p.NodeNames()
	if err := redisInstall(ctx, env, r.nodes, r.bin); err != nil {
		return 0, fmt.Errorf("redlock: %w", err)
	}
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

// Binding implements targets.Service.
func (*Redlock) Binding() targets.Binding { return redlockBinding{} }

// Teardown implements targets.Service: the clients are closed by their owners.
func (*Redlock) Teardown(context.Context) error { return nil }

// HasTokens implements targets.Fencer: Redlock gives no fencing token.
func (*Redlock) HasTokens() bool { return false }

// Expiry implements targets.Expirer: every node's key has a fixed PX (the
// client does not extend it).
func (*Redlock) Expiry() targets.Expiry { return targets.FixedExpiry }

// ServerProcess implements targets.Servers.
func (*Redlock) ServerProcess(string) string { return redisProcess }

// StartServer implements targets.Servers: it starts the node's redis-server
// again with the same configuration (empty again with persistence none).
func (r *Redlock) StartServer(ctx context.Context, node string) error {
	if err := redisStartServer(ctx, r.cluster, node, ""); err != nil {
		return fmt.Errorf("redlock: restart: %w", err)
	}
	return nil
}

// ClockShimmed implements targets.ClockShimmed: each node's key expiry follows
// its own shimmed wall clock, so one node's clock can be moved alone.
func (*Redlock) ClockShimmed() bool { return true }

// LogPaths implements targets.LogCollector.
func (r *Redlock) LogPaths() map[string][]string {
	out := map[string][]string{}
	for _, n := range r.nodes {
		out[n] = []string{redisLogPath}
	}
	return out
}
