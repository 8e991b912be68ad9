// Package natskv is the nats-kv target: a NATS JetStream key-value bucket
// with a TTL, through nats.go. The servers and the bucket are in
// server.go, the Go binding in client.go.
package natskv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/serverbin"
)

// Where and how the nats-kv target runs its servers.
const (
	// natsBin is started by name: Debian's /usr/sbin/nats-server, unless
	// the run installed another in serverbin.InstallDir, first on PATH.
	natsBin      = "nats-server"
	natsConf     = "/etc/lockstorm-nats.conf"
	natsData     = "/var/lib/lockstorm-nats"
	natsLog      = "/var/log/lockstorm-nats.log"
	natsPort     = 4222
	natsRoute    = 6222
	natsProcess  = "nats-server"
	natsBucket   = "lockstorm"
	natsClusterN = "lockstorm"
)

// natsReplicasOpt sets the bucket's replication.
var natsReplicasOpt = option.Int{Name: "nats.replicas", Default: 0, Min: 0, Max: 5,
	Help: "the KV bucket's replicas (default: 3, or 1 on fewer than 3 nodes)"}

// natsSyncOpt sets how often JetStream fsyncs its store.
var natsSyncOpt = option.Text{Name: "nats.sync", Default: "default",
	Help: "JetStream's sync_interval: default (the server's, 2m), always (fsync every write; nats-server 2.10 and later) or a duration",
	Valid: func(v string) error {
		if v == "default" || v == "always" {
			return nil
		}
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			return errors.New("want default, always or a positive duration such as 10s")
		}
		return nil
	}}

// natsServer is the nats-server executable the target runs: Debian's
// 2.9.10, a version built from the server's module (nats.version) or the
// user's own (nats.binary).
var natsServer = &serverbin.Server{
	Name: "nats-server", Owner: "nats",
	Module: &serverbin.Module{
		Path:  "github.com/nats-io/nats-server/v2",
		Known: "run here: 2.15.3",
	},
	VersionArgs: []string{"--version"},
}

// Service is the nats-kv target. It locks with a NATS JetStream key-value
// bucket, through github.com/nats-io/nats.go's jetstream package: the
// bucket's TTL (its
// stream's MaxAge) is the lease, acquire is Create (a put that expects the
// key to have no value), and release is a delete conditioned on the
// revision of our put. The revision, the stream sequence of the put, is
// the fencing token. The servers form one JetStream cluster, one per node.
//
// nats-server is written in Go and reads the clock without libc, so the
// clock shim cannot shift it.
type Service struct {
	cluster runtime.Cluster
	nodes   []string
	ips     map[string]string
	log     *slog.Logger
	sync    string
	// bin is the nats-server of this machine that the run installs on the
	// nodes (Provision); "" runs Debian's.
	bin string
}

// New returns the nats-kv target.
func New() *Service { return &Service{} }

// Name implements targets.Service.
func (*Service) Name() string { return "nats-kv" }

// Describe implements targets.Service: three servers by default, for a
// replicated bucket.
func (*Service) Describe() targets.Descriptor {
	return targets.Descriptor{
		Description:  "NATS JetStream KV bucket with a TTL (Create, delete at our revision), a cluster of nats-server (2.9, or nats.version); token = revision",
		DefaultNodes: 3,
		Options:      option.Specs(append([]option.Declaration{natsReplicasOpt, natsSyncOpt}, natsServer.Options()...)...),
		Ports:        map[string]int{"client": natsPort},
	}
}

// Prepare implements targets.Service: the bucket's MaxAge is the TTL, counted
// from when the stream stored the put, after the acquire began; it is never
// cut short.
func (*Service) Prepare(p *plan.Plan) (time.Duration, error) {
	c, err := natsServer.Check(p.Options)
	if err != nil {
		return 0, err
	}
	if s := natsSyncOpt.Get(p.Options); s != "default" && c.Debian() {
		return 0, option.Errorf("nats.sync=%s: Debian's nats-server 2.9.10 has no sync_interval (2.10 added it); give a nats.version such as 2.15.3", s)
	}
	if r := natsReplicasOpt.Get(p.Options); r > len(p.Nodes) && len(p.Nodes) > 0 {
		return 0, option.Errorf("nats.replicas=%d needs at least that many nodes, the run has %d", r, len(p.Nodes))
	}
	return p.TTL, nil
}

// HasTokens implements targets.Fencer: every grant carries its revision.
func (*Service) HasTokens() bool { return true }

// Expiry implements targets.Expirer: the put ages out; nothing renews it.
func (*Service) Expiry() targets.Expiry { return targets.FixedExpiry }

// Binding implements targets.Service.
func (*Service) Binding() targets.Binding { return natsBinding{} }

// ServerProcess implements targets.Servers.
func (*Service) ServerProcess(string) string { return natsProcess }

// LogPaths implements targets.LogCollector.
func (n *Service) LogPaths() map[string][]string {
	out := map[string][]string{}
	for _, node := range n.nodes {
		out[node] = []string{natsLog}
	}
	return out
}

// natsReplicas is the bucket's replication for a run of n nodes.
func natsReplicas(p *plan.Plan) int {
	if r := natsReplicasOpt.Get(p.Options); r > 0 {
		return r
	}
	if len(p.Nodes) >= 3 {
		return 3
	}
	return 1
}

// Provision implements targets.Provisioner: it builds the nats-server
// version that the options ask for, or checks the user's binary.
func (n *Service) Provision(ctx context.Context, p *plan.Plan, say func(string)) (err error) {
	n.bin, err = natsServer.Provide(ctx, p, say)
	return err
}

// Setup writes each server's configuration, starts them, and creates the
// bucket once the cluster has a JetStream leader. The lease is the
// bucket's TTL (see Prepare).
func (n *Service) Setup(ctx context.Context, env *targets.Env) (time.Duration, error) {
	p := env.Plan
	if env.Cluster == nil || len(p.Nodes) == 0 {
		return 0, fmt.Errorf("nats: no cluster")
	}
	n.cluster, n.nodes, n.log = env.Cluster, p.NodeNames(), env.Log
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.ips = map[string]string{}
	for _, node := range p.Nodes {
		n.ips[node.Name] = node.IP
	}
	n.sync = natsSyncOpt.Get(p.Options)
	if said, err := natsServer.Install(ctx, n.cluster, n.nodes, n.bin); err != nil {
		return 0, fmt.Errorf("nats: %w", err)
	} else if said != "" {
		n.log.Info("nats: installed on every node", "from", n.bin, "says", said)
	}
	err := onEach(n.nodes, func(node string) error {
		if _, err := targets.Sh(ctx, n.cluster, node, "mkdir -p "+natsData+" && cat > "+natsConf+" <<'EOF'\n"+n.config(node)+"EOF\n"); err != nil {
			return fmt.Errorf("nats: configure %s: %w", node, err)
		}
		return n.StartServer(ctx, node)
	})
	if err != nil {
		return 0, err
	}
	nc, err := nats.Connect(n.urls(), nats.Timeout(2*time.Second), nats.MaxReconnects(-1))
	if err != nil {
		return 0, fmt.Errorf("nats: connect: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, fmt.Errorf("nats: %w", err)
	}
	cfg := jetstream.KeyValueConfig{Bucket: natsBucket, TTL: p.TTL, Replicas: natsReplicas(p), History: 1}
	err = wait.For(ctx, 60*time.Second, 250*time.Millisecond, func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := js.CreateOrUpdateKeyValue(cctx, cfg)
		return err
	})
	if err != nil {
		return 0, err
	}
	return p.TTL, nil
}

// config is the configuration of the server on node.
func (n *Service) config(node string) string {
	var b strings.Builder
	sync := ""
	if n.sync != "" && n.sync != "default" {
		sync = fmt.Sprintf("  sync_interval: %s\n", n.sync)
	}
	fmt.Fprintf(&b, "server_name: %s\nlisten: 0.0.0.0:%d\njetstream {\n  store_dir: %q\n%s}\n", node, natsPort, natsData, sync)
	if len(n.nodes) > 1 {
		var routes []string
		for _, other := range n.nodes {
			if other != node {
				routes = append(routes, fmt.Sprintf("nats-route://%s:%d", n.ips[other], natsRoute))
			}
		}
		fmt.Fprintf(&b, "cluster {\n  name: %s\n  listen: 0.0.0.0:%d\n  routes: [%s]\n}\n", natsClusterN, natsRoute, strings.Join(routes, ", "))
	}
	return b.String()
}

// start runs the server on node with its configuration.
func (n *Service) start(ctx context.Context, node string) error {
	d := targets.Daemon{Name: natsProcess, Log: natsLog, Cmd: natsBin + " -c " + natsConf}
	if err := targets.StartDaemon(ctx, n.cluster, node, d); err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	return nil
}

// StartServer implements targets.Servers: the server starts again on its store,
// and the call returns once it takes connections.
func (n *Service) StartServer(ctx context.Context, node string) error {
	if err := n.start(ctx, node); err != nil {
		return err
	}
	url := fmt.Sprintf("nats://%s:%d", n.ips[node], natsPort)
	err := wait.For(ctx, 20*time.Second, 100*time.Millisecond, func(context.Context) error {
		nc, err := nats.Connect(url, nats.Timeout(time.Second), nats.NoReconnect())
		if err != nil {
			return err
		}
		nc.Close()
		return nil
	})
	if err != nil {
		out, _ := targets.Sh(ctx, n.cluster, node, "tail -n 5 "+natsLog)
		return fmt.Errorf("nats: server on %s does not take connections: %w; its log ends: %s", node, err, strings.TrimSpace(out))
	}
	return nil
}

// urls lists every server's client URL.
func (n *Service) urls() string {
	var out []string
	for _, node := range n.nodes {
		out = append(out, fmt.Sprintf("nats://%s:%d", n.ips[node], natsPort))
	}
	return strings.Join(out, ",")
}

// Teardown implements targets.Service.
func (*Service) Teardown(context.Context) error { return nil }

// onEach runs f for every node at once and joins the errors.
func onEach(nodes []string, f func(string) error) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(node)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// WhyNoClockShim implements targets.Unshimmed.
func (*Service) WhyNoClockShim() string { return targets.GoServersNoShim }
