package targets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
)

// Where and how the nats-kv target runs its servers.
const (
	natsBin      = "/usr/sbin/nats-server"
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

// NatsKV locks with a NATS JetStream key-value bucket, through
// github.com/nats-io/nats.go's jetstream package: the bucket's TTL (its
// stream's MaxAge) is the lease, acquire is Create (a put that expects the
// key to have no value), and release is a delete conditioned on the
// revision of our put. The revision, the stream sequence of the put, is
// the fencing token. The servers form one JetStream cluster, one per node.
//
// nats-server is written in Go and reads the clock without libc, so the
// clock shim cannot shift it.
type NatsKV struct {
	cluster runtime.Cluster
	nodes   []string
	ips     map[string]string
	log     *slog.Logger
}

// NewNatsKV returns the nats-kv target.
func NewNatsKV() *NatsKV { return &NatsKV{} }

// Name implements Service.
func (*NatsKV) Name() string { return "nats-kv" }

// Describe implements Service: three servers by default, for a
// replicated bucket.
func (*NatsKV) Describe() Descriptor {
	return Descriptor{
		Description:  "NATS JetStream KV bucket with a TTL (Create, delete at our revision), a cluster of nats-server 2.9; token = revision",
		DefaultNodes: 3,
		Options:      option.Specs(natsReplicasOpt),
		Ports:        map[string]int{"client": natsPort},
	}
}

// Prepare implements Service: the bucket's MaxAge is the TTL, counted from
// when the stream stored the put, after the acquire began; it is never
// cut short.
func (*NatsKV) Prepare(p *plan.Plan) (time.Duration, error) {
	if r := natsReplicasOpt.Get(p.Options); r > len(p.Nodes) && len(p.Nodes) > 0 {
		return 0, option.Errorf("nats.replicas=%d needs at least that many nodes, the run has %d", r, len(p.Nodes))
	}
	return p.TTL, nil
}

// HasTokens implements Fencer: every grant carries its revision.
func (*NatsKV) HasTokens() bool { return true }

// Expiry implements Expirer: the put ages out; nothing renews it.
func (*NatsKV) Expiry() Expiry { return FixedExpiry }

// Binding implements Service.
func (*NatsKV) Binding() Binding { return natsBinding{} }

// ServerProcess implements Servers.
func (*NatsKV) ServerProcess(string) string { return natsProcess }

// LogPaths implements LogCollector.
func (n *NatsKV) LogPaths() map[string][]string {
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

// Setup writes each server's configuration, starts them, and creates the
// bucket once the cluster has a JetStream leader. The lease is the
// bucket's TTL (see Prepare).
func (n *NatsKV) Setup(ctx context.Context, env *Env) (time.Duration, error) {
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
	err := onEach(n.nodes, func(node string) error {
		if _, err := Sh(ctx, n.cluster, node, "mkdir -p "+natsData+" && cat > "+natsConf+" <<'EOF'\n"+n.config(node)+"EOF\n"); err != nil {
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
func (n *NatsKV) config(node string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "server_name: %s\nlisten: 0.0.0.0:%d\njetstream {\n  store_dir: %q\n}\n", node, natsPort, natsData)
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
func (n *NatsKV) start(ctx context.Context, node string) error {
	d := Daemon{Name: natsProcess, Log: natsLog, Cmd: natsBin + " -c " + natsConf}
	if err := StartDaemon(ctx, n.cluster, node, d); err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	return nil
}

// StartServer implements Servers: the server starts again on its store,
// and the call returns once it takes connections.
func (n *NatsKV) StartServer(ctx context.Context, node string) error {
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
		out, _ := Sh(ctx, n.cluster, node, "tail -n 5 "+natsLog)
		return fmt.Errorf("nats: server on %s does not take connections: %w; its log ends: %s", node, err, strings.TrimSpace(out))
	}
	return nil
}

// urls lists every server's client URL.
func (n *NatsKV) urls() string {
	var out []string
	for _, node := range n.nodes {
		out = append(out, fmt.Sprintf("nats://%s:%d", n.ips[node], natsPort))
	}
	return strings.Join(out, ",")
}

// Teardown implements Service.
func (*NatsKV) Teardown(context.Context) error { return nil }

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

// natsBinding is the Go binding of nats-kv.
type natsBinding struct{}

// NewClient returns a client connected to its node first; the NATS client
// moves to another server when that one goes, as NATS clients do.
func (natsBinding) NewClient(_ context.Context, env ClientEnv) (Client, error) {
	p := env.Plan
	first, err := p.Addr(env.Node, natsPort)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	urls := []string{"nats://" + first}
	for _, node := range p.NodeNames() {
		if node != env.Node {
			a, _ := p.Addr(node, natsPort)
			urls = append(urls, "nats://"+a)
		}
	}
	return &natsClient{urls: strings.Join(urls, ","), node: env.Node, wait: p.Wait, plan: p,
		id: fmt.Sprintf("p%d-%d", env.Process, rand.Int64()), held: map[string]uint64{}}, nil
}

// natsClient connects lazily, so that a client can be made while its
// server is down.
type natsClient struct {
	urls string
	node string // the node assigned; Node names the one connected to
	plan *plan.Plan
	wait time.Duration
	id   string

	mu   sync.Mutex
	nc   *nats.Conn
	kv   jetstream.KeyValue
	held map[string]uint64 // lock key -> revision of our put
	done bool
}

// bucket returns the bucket, connecting first if needed. Connecting
// changes no lock.
func (c *natsClient) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	if c.done {
		return nil, errors.New("nats client closed")
	}
	if c.kv != nil {
		return c.kv, nil
	}
	nc, err := nats.Connect(c.urls, nats.Timeout(2*time.Second), nats.DontRandomize(),
		nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	kv, err := js.KeyValue(ctx, natsBucket)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.nc, c.kv = nc, kv
	return kv, nil
}

// Acquire creates the key, retrying while it exists until the wait runs
// out. A put that got no answer may have been stored: unknown.
func (c *natsClient) Acquire(ctx context.Context, key string) (Grant, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline := time.Now().Add(c.wait)
	backoff := 2 * time.Millisecond
	for attempts := 1; ; attempts++ {
		cctx, cancel := context.WithDeadline(ctx, deadline)
		kv, err := c.bucket(cctx)
		if err == nil {
			var rev uint64
			rev, err = kv.Create(cctx, natsKey(key), []byte(c.id))
			cancel()
			switch {
			case err == nil:
				c.held[key] = rev
				tok := int64(rev)
				return Grant{Token: &tok}, nil
			case errors.Is(err, jetstream.ErrKeyExists):
			case errors.Is(err, nats.ErrNoResponders):
				// No server took the put: nothing was stored.
			default:
				return Grant{}, fmt.Errorf("acquire %s: %w", key, err)
			}
		} else {
			cancel()
		}
		if !time.Now().Add(backoff).Before(deadline) || ctx.Err() != nil {
			return Grant{}, fmt.Errorf("%w: %s busy for %s (%d attempts): %v", ErrNotAcquired, key, c.wait, attempts, err)
		}
		if !wait.Sleep(ctx, backoff) {
			return Grant{}, fmt.Errorf("%w: %s busy until the call ended", ErrNotAcquired, key)
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// natsKey is the bucket key of a lock key (letters, digits, - _ / = .).
func natsKey(key string) string {
	return "lock." + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, key)
}

// Release deletes the key if its last revision is still our put's: a key
// that aged out or changed hands is not ours to delete.
func (c *natsClient) Release(ctx context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rev, ok := c.held[key]
	if !ok {
		return fmt.Errorf("%w: %s does not hold %s", ErrNotHeld, c.id, key)
	}
	delete(c.held, key)
	kv, err := c.bucket(ctx)
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	err = kv.Delete(ctx, natsKey(key), jetstream.LastRevision(rev))
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant):
		return fmt.Errorf("%w: %s is no longer at revision %d (aged out or taken)", ErrNotHeld, key, rev)
	}
	return fmt.Errorf("release %s: %w", key, err)
}

// Node names the server the client is connected to, or the one it was
// assigned while it is not.
func (c *natsClient) Node() string {
	c.mu.Lock()
	nc := c.nc
	c.mu.Unlock()
	if nc != nil {
		if host, _, err := net.SplitHostPort(nc.ConnectedAddr()); err == nil {
			if n, ok := c.plan.NodeByIP(host); ok {
				return n
			}
		}
	}
	return c.node
}

// Abandon closes the connection; the keys stay until they age out.
func (c *natsClient) Abandon() { _ = c.Close() }

// Close closes the connection; nothing is deleted.
func (c *natsClient) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return nil
	}
	c.done = true
	if c.nc != nil {
		c.nc.Close()
	}
	return nil
}

// WhyNoClockShim implements Unshimmed.
func (*NatsKV) WhyNoClockShim() string { return GoServersNoShim }
