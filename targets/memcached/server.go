// Package memcached is the memcached target: the add-key-with-TTL lock of
// web frameworks' cache-based locks, through gomemcache. The server and
// its lease are in server.go, the Go binding in client.go.
package memcached

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/serverbin"
)

// Where and how the memcached target runs its one server.
const (
	// memcachedBin is started by name: Debian's /usr/bin/memcached, unless
	// the run installed another in serverbin.InstallDir, first on PATH.
	memcachedBin     = "memcached"
	memcachedLog     = "/var/log/lockstorm-memcached.log"
	memcachedPort    = 11211
	memcachedProcess = "memcached"
)

// memcachedServer is the memcached executable the target runs: Debian's,
// or the user's own (memcached.binary).
var memcachedServer = &serverbin.Server{Name: "memcached", Owner: "memcached", VersionArgs: []string{"-V"}}

// The options of memcached.
var (
	memcachedReleaseOpt = option.Choice{Name: "memcached.release", Default: "plain", Choices: []string{"plain", "checked"},
		Help: "plain: delete the key, whoever holds it, as web frameworks do; checked: delete it only if it still holds our value (meta commands mg and md with its CAS)"}
	memcachedMemoryOpt = option.Int{Name: "memcached.memory", Default: 64, Min: 1, Max: 4096,
		Help: "the server's memory for items, in MB (-m)"}
	memcachedFillerOpt = option.Int{Name: "memcached.filler", Default: 0, Min: 0, Max: 100000,
		Help: "items a second of other data that each client stores in the same cache (the application's own caching), each the size of a lock item, so that a full cache evicts lock keys"}
)

// Service is the memcached target. It locks with memcached's add: `add
// key value ttl` stores the key only if it is absent, so the client that
// stores it holds the lock until it deletes it or the TTL runs out (the
// lock of Django's and Rails' cache-based locks), through
// github.com/bradfitz/gomemcache. The server
// keeps everything in memory: a restart forgets every lock, and a full
// cache evicts lock keys like any other item. The fencing token is the
// item's CAS unique, a counter that grows with every store on the server,
// read right after the add; it starts again after a restart.
type Service struct {
	cluster runtime.Cluster
	node    string
	addr    string
	mem     int
	log     *slog.Logger
	bin     string // the memcached to install (Provision); "" for Debian's
}

// New returns the memcached target.
func New() *Service { return &Service{} }

// Name implements targets.Service.
func (*Service) Name() string { return "memcached" }

// Describe implements targets.Service: one server.
func (*Service) Describe() targets.Descriptor {
	return targets.Descriptor{
		Description:  "memcached 1.6, the add-key-with-TTL lock (gomemcache), plain or checked delete; in memory only; token = the item's CAS unique",
		DefaultNodes: 1,
		Options:      option.Specs(memcachedReleaseOpt, memcachedMemoryOpt, memcachedFillerOpt, memcachedServer.BinaryOption()),
		Ports:        map[string]int{"memcached": memcachedPort},
	}
}

// memcachedTTL is the expiry a client asks for: whole seconds, at least 2.
func memcachedTTL(ttl time.Duration) int32 {
	return int32(max((ttl+time.Second-1)/time.Second, 2))
}

// Prepare implements targets.Service: memcached counts expiry in whole seconds
// on a clock that ticks once a second, so an item stored with a TTL of n
// seconds may expire up to a second early: the lease it honours is n−1 s.
func (*Service) Prepare(p *plan.Plan) (time.Duration, error) {
	return time.Duration(memcachedTTL(p.TTL)-1) * time.Second, nil
}

// HasTokens implements targets.Fencer: the item's CAS unique.
func (*Service) HasTokens() bool { return true }

// Expiry implements targets.Expirer: the TTL is fixed at the add.
func (*Service) Expiry() targets.Expiry { return targets.FixedExpiry }

// Binding implements targets.Service.
func (*Service) Binding() targets.Binding { return memcachedBinding{} }

// ServerProcess implements targets.Servers.
func (*Service) ServerProcess(string) string { return memcachedProcess }

// LogPaths implements targets.LogCollector.
func (m *Service) LogPaths() map[string][]string {
	return map[string][]string{m.node: {memcachedLog}}
}

// Provision implements targets.Provisioner: it checks the user's
// memcached, if the run names one.
func (m *Service) Provision(ctx context.Context, p *plan.Plan, say func(string)) (err error) {
	m.bin, err = memcachedServer.Provide(ctx, p, say)
	return err
}

// Setup starts memcached on the first node and waits until it answers.
// The lease is the TTL less the second memcached's clock may cut off (see
// Prepare).
func (m *Service) Setup(ctx context.Context, env *targets.Env) (time.Duration, error) {
	p := env.Plan
	if env.Cluster == nil || len(p.Nodes) == 0 {
		return 0, fmt.Errorf("memcached: no cluster")
	}
	m.cluster, m.node, m.log = env.Cluster, p.Nodes[0].Name, env.Log
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	addr, err := p.Addr(m.node, memcachedPort)
	if err != nil {
		return 0, err
	}
	m.addr, m.mem = addr, memcachedMemoryOpt.Get(p.Options)
	if said, err := memcachedServer.Install(ctx, m.cluster, []string{m.node}, m.bin); err != nil {
		return 0, fmt.Errorf("memcached: %w", err)
	} else if said != "" {
		m.log.Info("memcached: installed", "from", m.bin, "says", said)
	}
	if err := m.start(ctx); err != nil {
		return 0, err
	}
	return time.Duration(memcachedTTL(p.TTL)-1) * time.Second, nil
}

// start runs the server and waits until it answers a version request.
func (m *Service) start(ctx context.Context) error {
	d := targets.Daemon{Name: memcachedProcess, Log: memcachedLog,
		Cmd: fmt.Sprintf("%s -u memcache -l 0.0.0.0 -p %d -U 0 -c 4096 -m %d -I %dk -v", memcachedBin, memcachedPort, m.mem, memcachedItemMax(m.mem))}
	if err := targets.StartDaemon(ctx, m.cluster, m.node, d); err != nil {
		return fmt.Errorf("memcached: %w", err)
	}
	err := wait.For(ctx, 20*time.Second, 100*time.Millisecond, func(context.Context) error {
		c := memcache.New(m.addr)
		defer c.Close()
		return c.Ping()
	})
	if err != nil {
		out, _ := targets.Sh(ctx, m.cluster, m.node, "tail -n 5 "+memcachedLog)
		return fmt.Errorf("memcached on %s: %w; its log ends: %s", m.node, err, strings.TrimSpace(out))
	}
	return nil
}

// memcachedItemMax is the largest item, in KB, for a cache of mem MB:
// memcached's default of 1 MB, or half the memory if that is less, as the
// server requires.
func memcachedItemMax(mem int) int {
	return min(1024, mem*1024/2)
}

// StartServer implements targets.Servers: a restarted memcached is empty.
func (m *Service) StartServer(ctx context.Context, node string) error {
	if node != m.node {
		return nil
	}
	return m.start(ctx)
}

// Teardown implements targets.Service.
func (*Service) Teardown(context.Context) error { return nil }

// WhyNoClockShim implements targets.Unshimmed.
func (*Service) WhyNoClockShim() string {
	return "time expiry with CLOCK_MONOTONIC, which the clock shim leaves alone"
}
