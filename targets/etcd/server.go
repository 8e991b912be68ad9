// Package etcd holds the three etcd targets: etcd (a concurrency.Mutex),
// etcd-lockapi (the server-side Lock API) and etcd-election (the election
// API). They share one etcd 3.4 cluster and its powers (server.go) and the
// contention workload's store (store.go); each has its service in
// <target>.go and its Go binding in <target>_client.go.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/serverbin"
)

// Paths and ports of the etcd targets inside a node.
const (
	// etcdBin is started by name: Debian's /usr/bin/etcd, unless the run
	// installed another one in serverbin.InstallDir, which comes first on
	// the nodes' PATH.
	etcdBin        = "etcd"
	etcdDataDir    = "/var/lib/lockstorm-etcd"
	etcdLog        = "/var/log/lockstorm-etcd.log"
	etcdClientPort = 2379
	etcdPeerPort   = 2380
	// etcdLockPrefix is the key prefix under which every lock lives; the
	// mutex of lock key k uses the prefix etcdLockPrefix+k.
	etcdLockPrefix = "/lockstorm/"
)

// members is the etcd cluster (Debian's etcd-server 3.4 unless the run
// chose another etcd: serverbin) that the etcd
// targets share: static bootstrap, one member per node. It is the service
// side of the three targets (setup, health, the lease, restarts and the
// leader), which embed it. Clients lock through the official Go client:
// a session (a lease kept alive in the background) per client.
//
// etcd is written in Go and reads the clock through the vDSO, not through
// libc, so the clock shim cannot shift it: members does not implement
// ClockShimmed, and clock faults are reported as not applicable.
type members struct {
	cluster   runtime.Cluster
	nodes     []string
	ips       map[string]string
	log       *slog.Logger
	ttlSec    int64
	lease     time.Duration
	heartbeat time.Duration
	election  time.Duration
	token     string

	// bin is the etcd executable of this machine that the run installs
	// on the nodes (Provision); "" runs Debian's.
	bin string

	mu    sync.Mutex
	admin *clientv3.Client // all endpoints; Status and health only
}

// etcdServer is the etcd executable the targets run: Debian's 3.4, a
// version built from the server module (etcd.version) or the user's own
// (etcd.binary). etcd's own main package has replace directives in its
// go.mod, so lockstorm builds a main that calls etcdmain.Main.
var etcdServer = &serverbin.Server{
	Name: "etcd", Owner: "etcd",
	Module: &serverbin.Module{
		Path: "go.etcd.io/etcd/server/v3", Runner: "go.etcd.io/etcd/server/v3/etcdmain",
		Known: "run here: 3.6.16, 3.7.3",
	},
	VersionArgs: []string{"--version"},
}

// The options of the etcd targets' members: their Raft timing.
var (
	etcdHeartbeatOpt = option.Duration{Name: "etcd.heartbeat", Default: 100 * time.Millisecond, Positive: true, Whole: time.Millisecond,
		Help: "the members' --heartbeat-interval"}
	etcdElectionOpt = option.Duration{Name: "etcd.election", Default: time.Second, Positive: true, Whole: time.Millisecond,
		Help: "the members' --election-timeout (at least 5 heartbeats); leases are at least 1.5 of it"}
)

// etcdDescriptor is the Descriptor of the etcd targets, which share the
// cluster and its options.
func etcdDescriptor(desc string, opts ...option.Declaration) targets.Descriptor {
	opts = append(opts, etcdServer.Options()...)
	return targets.Descriptor{Description: desc, DefaultNodes: 3, Options: option.Specs(opts...), Ports: map[string]int{"client": etcdClientPort}}
}

// HasTokens implements targets.Fencer: every grant carries its key's create
// revision.
func (*members) HasTokens() bool { return true }

// Expiry implements targets.Expirer: the session's lease is kept alive by
// keepalives and expires one TTL after they stop reaching the leader.
func (*members) Expiry() targets.Expiry { return targets.RenewedExpiry }

// Prepare implements targets.Service: the election timeout must be at least
// five heartbeats, and the lease etcd grants is the TTL rounded up to whole
// seconds, and never below its minimum lease TTL, 1.5 election timeouts
// (rounded up to a second too).
func (*members) Prepare(p *plan.Plan) (time.Duration, error) {
	if _, err := etcdServer.Check(p.Options); err != nil {
		return 0, err
	}
	hb, el := etcdHeartbeatOpt.Get(p.Options), etcdElectionOpt.Get(p.Options)
	if el < 5*hb {
		return 0, option.Errorf("etcd.election=%s must be at least 5 x etcd.heartbeat=%s", el, hb)
	}
	return time.Duration(max(etcdTTLSeconds(p.TTL), etcdTTLSeconds(el*3/2))) * time.Second, nil
}

// etcdTTLSeconds rounds a TTL up to whole seconds, at least one.
func etcdTTLSeconds(ttl time.Duration) int64 {
	return max(int64((ttl+time.Second-1)/time.Second), 1)
}

// Provision implements targets.Provisioner: it builds the etcd version
// that the options ask for, or checks the user's etcd binary.
func (e *members) Provision(ctx context.Context, p *plan.Plan, say func(string)) (err error) {
	e.bin, err = etcdServer.Provide(ctx, p, say)
	return err
}

// Setup starts one etcd member per node, waits until every member answers
// a linearizable read through the same leader, and returns the lease it
// measures: the session lease TTL the cluster grants.
func (e *members) Setup(ctx context.Context, env *targets.Env) (time.Duration, error) {
	p := env.Plan
	if env.Cluster == nil || len(p.Nodes) == 0 {
		return 0, fmt.Errorf("etcd: no cluster nodes")
	}
	e.cluster, e.nodes, e.log = env.Cluster, p.NodeNames(), env.Log
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.ttlSec = etcdTTLSeconds(p.TTL)
	e.heartbeat, e.election = etcdHeartbeatOpt.Get(p.Options), etcdElectionOpt.Get(p.Options)
	e.ips = map[string]string{}
	for _, n := range p.Nodes {
		if n.IP == "" {
			return 0, fmt.Errorf("etcd: %w: %s", runtime.ErrUnknownNode, n.Name)
		}
		e.ips[n.Name] = n.IP
	}
	e.token = "lockstorm-" + env.Cluster.RunID()
	if said, err := etcdServer.Install(ctx, e.cluster, e.nodes, e.bin); err != nil {
		return 0, fmt.Errorf("etcd: %w", err)
	} else if said != "" {
		e.log.Info("etcd: installed on every node", "from", e.bin, "says", said)
	}
	for _, n := range e.nodes {
		if err := e.start(ctx, n, "new"); err != nil {
			return 0, err
		}
	}
	admin, err := clientv3.New(etcdClientConfig(e.endpoints(e.nodes...)...))
	if err != nil {
		return 0, fmt.Errorf("etcd: admin client: %w", err)
	}
	e.mu.Lock()
	e.admin = admin
	e.mu.Unlock()
	if err := wait.For(ctx, 60*time.Second, 250*time.Millisecond, e.healthy); err != nil {
		return 0, fmt.Errorf("etcd: cluster not healthy: %w", err)
	}
	if err := wait.For(ctx, 20*time.Second, 250*time.Millisecond, e.measureLease); err != nil {
		return 0, err
	}
	return e.lease, nil
}

// start runs etcd on node; state is "new" at bootstrap and "existing" on a
// restart (the data directory then decides, and the flag is ignored).
func (e *members) start(ctx context.Context, node, state string) error {
	var peers []string
	for _, n := range e.nodes {
		peers = append(peers, fmt.Sprintf("%s=http://%s:%d", n, e.ips[n], etcdPeerPort))
	}
	ip := e.ips[node]
	args := []string{
		etcdBin,
		"--name", node,
		"--data-dir", etcdDataDir,
		"--initial-advertise-peer-urls", fmt.Sprintf("http://%s:%d", ip, etcdPeerPort),
		"--listen-peer-urls", fmt.Sprintf("http://0.0.0.0:%d", etcdPeerPort),
		"--listen-client-urls", fmt.Sprintf("http://0.0.0.0:%d", etcdClientPort),
		"--advertise-client-urls", fmt.Sprintf("http://%s:%d", ip, etcdClientPort),
		"--initial-cluster", strings.Join(peers, ","),
		"--initial-cluster-state", state,
		"--initial-cluster-token", e.token,
		"--heartbeat-interval", fmt.Sprint(e.heartbeat.Milliseconds()),
		"--election-timeout", fmt.Sprint(e.election.Milliseconds()),
		"--logger", "zap", "--log-outputs", "stderr",
	}
	return targets.StartDaemon(ctx, e.cluster, node, targets.Daemon{Name: "etcd", Cmd: strings.Join(args, " "), Log: etcdLog})
}

// healthy checks that every member reports the same leader and serves a
// linearizable read.
func (e *members) healthy(ctx context.Context) error {
	admin := e.adminClient()
	if admin == nil {
		return errors.New("etcd: not set up")
	}
	var leader uint64
	for _, n := range e.nodes {
		ep := e.endpoints(n)[0]
		st, err := admin.Status(ctx, ep)
		if err != nil {
			return fmt.Errorf("status of %s: %w", n, err)
		}
		if st.Leader == 0 {
			return fmt.Errorf("%s has no leader", n)
		}
		if leader != 0 && st.Leader != leader {
			return fmt.Errorf("members disagree on the leader (%x, %x)", leader, st.Leader)
		}
		leader = st.Leader
		if err := e.readVia(ctx, n); err != nil {
			return fmt.Errorf("read through %s: %w", n, err)
		}
	}
	return nil
}

// readVia does a linearizable read through node alone.
func (e *members) readVia(ctx context.Context, node string) error {
	c, err := clientv3.New(etcdClientConfig(e.endpoints(node)...))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Get(ctx, "/lockstorm-health")
	return err
}

// measureLease grants and revokes one lease of the session TTL, and keeps
// the TTL the servers granted: etcd raises TTLs below its minimum
// (1.5 election timeouts, rounded up to a second).
func (e *members) measureLease(ctx context.Context) error {
	admin := e.adminClient()
	resp, err := admin.Grant(ctx, e.ttlSec)
	if err != nil {
		return fmt.Errorf("grant a probe lease: %w", err)
	}
	if _, err := admin.Revoke(ctx, resp.ID); err != nil {
		e.log.Debug("etcd: revoke probe lease", "err", err)
	}
	if resp.TTL < e.ttlSec {
		return fmt.Errorf("etcd granted a %ds lease for %ds", resp.TTL, e.ttlSec)
	}
	e.ttlSec = resp.TTL
	e.lease = time.Duration(resp.TTL) * time.Second
	e.log.Info("etcd lease", "ttl", e.lease)
	return nil
}

func (e *members) adminClient() *clientv3.Client {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.admin
}

// endpoints returns the client URLs of nodes.
func (e *members) endpoints(nodes ...string) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, fmt.Sprintf("http://%s:%d", e.ips[n], etcdClientPort))
	}
	return out
}

// clientConfig is the client configuration for endpoints: no blocking
// dial (a client of a dead node is created at once and fails per call),
// no endpoint sync (a client stays with its node), TCP keepalives so that a
// silent peer is noticed.
func etcdClientConfig(endpoints ...string) clientv3.Config {
	return clientv3.Config{
		Endpoints:            endpoints,
		DialKeepAliveTime:    2 * time.Second,
		DialKeepAliveTimeout: 2 * time.Second,
		Logger:               zap.NewNop(),
	}
}

// WhyNoClockShim implements targets.Unshimmed.
func (*members) WhyNoClockShim() string { return targets.GoServersNoShim }

// Teardown implements targets.Service: it closes the admin client.
func (e *members) Teardown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.admin != nil {
		err := e.admin.Close()
		e.admin = nil
		return err
	}
	return nil
}

// ServerProcess implements targets.Servers.
func (*members) ServerProcess(string) string { return "etcd" }

// StartServer implements targets.Servers: it starts the member again on its
// data directory and waits until it answers a status request.
func (e *members) StartServer(ctx context.Context, node string) error {
	if err := e.start(ctx, node, "existing"); err != nil {
		return err
	}
	admin := e.adminClient()
	if admin == nil {
		return errors.New("etcd: not set up")
	}
	return wait.For(ctx, 20*time.Second, 200*time.Millisecond, func(ctx context.Context) error {
		_, err := admin.Status(ctx, e.endpoints(node)[0])
		return err
	})
}

// Primaries implements targets.Primaries: the members that report themselves as
// the leader. Members that do not answer within a second are skipped.
func (e *members) Primaries(ctx context.Context) ([]string, error) {
	admin := e.adminClient()
	if admin == nil {
		return nil, errors.New("etcd: not set up")
	}
	var out []string
	var errs []error
	for _, n := range e.nodes {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := admin.Status(sctx, e.endpoints(n)[0])
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("status of %s: %w", n, err))
			continue
		}
		if st.Header != nil && st.Leader != 0 && st.Header.MemberId == st.Leader {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// LogPaths implements targets.LogCollector.
func (e *members) LogPaths() map[string][]string {
	out := map[string][]string{}
	for _, n := range e.nodes {
		out[n] = []string{etcdLog}
	}
	return out
}
