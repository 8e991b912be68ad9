package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/runtime/docker/image"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// teardownTimeout bounds Teardown and the cleanup after a failed Start.
const teardownTimeout = 2 * time.Minute

// subnetAttempts bounds how often Start picks a new subnet after the
// daemon reports an overlap (another run may take a subnet concurrently).
const subnetAttempts = 10

// Runtime is the runtime.Runtime that runs every node as a container on the local
// Docker daemon. It is safe for concurrent use.
type Runtime struct {
	cli *client.Client
	log *slog.Logger
	// BuildOutput, a terminal, receives lockstorm's lines about a node
	// image build, when Start has to build one (image.Options.Output); the
	// build's full output goes to its log file. nil discards them. Set it
	// before the first Start.
	BuildOutput io.Writer

	// eng gives every engine call its deadline.
	eng *engineTransport
	// churn serialises container stops and removals on the engine across
	// the host's lockstorm processes.
	churn churnLock

	imageMu sync.Mutex
	image   string // the node image tag, once ensured
}

var (
	_ runtime.Runtime       = (*Runtime)(nil)
	_ runtime.ImageProvider = (*Runtime)(nil)
	_ runtime.EngineWatcher = (*Runtime)(nil)
)

// New connects to the daemon named by the environment (DOCKER_HOST
// and friends, else the local socket), negotiates the API version and
// pings it. An unreachable daemon gives an error wrapping ErrNoDocker. log
// receives messages from Reap; nil discards them.
//
// Every call to the daemon has a deadline for the start of its answer
// (EngineTimeout); after the first call that misses it, every call fails
// at once with a runtime.EngineError (errors.Is runtime.ErrEngineStuck).
func New(ctx context.Context, log *slog.Logger) (*Runtime, error) {
	timeout, err := EngineTimeout()
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: &http.Transport{}, CheckRedirect: client.CheckRedirect}
	cli, err := client.NewClientWithOpts(client.WithHTTPClient(hc), client.WithHost(client.DefaultDockerHost),
		client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w: %w", runtime.ErrNoDocker, err)
	}
	// The client sends through hc (wrapped for tracing) unless TLS
	// settings in the environment made it build a client of its own, which
	// then goes without deadlines (docs/robustness.md). Nothing has been
	// sent yet.
	eng := newEngineTransport(hc.Transport, timeout)
	hc.Transport = eng
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		if errors.Is(err, runtime.ErrEngineStuck) {
			return nil, fmt.Errorf("ping docker: %w", err)
		}
		return nil, fmt.Errorf("ping docker: %w: %w", runtime.ErrNoDocker, err)
	}
	return &Runtime{cli: cli, log: orDiscard(log), eng: eng, churn: newChurnLock(cli.DaemonHost(), timeout)}, nil
}

// Client returns the underlying Docker client, for code that needs more
// than the Runtime interface, such as building the node image.
func (d *Runtime) Client() *client.Client { return d.cli }

// NodeImage returns the tag of the node image, building it first if it is
// not there (minutes when cold; the tag follows the image's inputs).
func (d *Runtime) NodeImage(ctx context.Context) (string, error) {
	d.imageMu.Lock()
	defer d.imageMu.Unlock()
	if d.image != "" {
		return d.image, nil
	}
	tag, err := image.Ensure(ctx, d.cli, image.Options{Log: d.log, Output: d.BuildOutput})
	if err != nil {
		return "", fmt.Errorf("node image: %w", err)
	}
	d.image = tag
	return tag, nil
}

// Close closes the connection to the daemon.
func (d *Runtime) Close() error { return d.cli.Close() }

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// NetworkName returns the name of the Docker network of a run.
func NetworkName(runID string) string { return "lockstorm-" + runID }

// ContainerName returns the name of the Docker container of a run's node.
func ContainerName(runID, node string) string { return "lockstorm-" + runID + "-" + node }

// Start creates the run's network and nodes and starts all nodes at once.
// It returns when every container runs. If anything fails, or ctx ends,
// it removes what it created before returning the error.
func (d *Runtime) Start(ctx context.Context, spec runtime.Spec) (runtime.Cluster, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	log := orDiscard(spec.Log).With("run", spec.RunID)
	if spec.Image == "" {
		tag, err := d.NodeImage(ctx)
		if err != nil {
			return nil, err
		}
		spec.Image = tag
	}
	spec.Labels = maps.Clone(spec.Labels)
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	self, err := OwnerLabel(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	spec.Labels[runtime.LabelOwner] = self
	if _, err := d.cli.ImageInspect(ctx, spec.Image); err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("start cluster: %w: %s", runtime.ErrNoImage, spec.Image)
		}
		return nil, fmt.Errorf("inspect image %s: %w", spec.Image, err)
	}
	c := &dockerCluster{cli: d.cli, eng: d.eng, churn: d.churn, log: log, runID: spec.RunID, ids: map[string]string{}}
	if err := c.start(ctx, spec); err != nil {
		// Without our network nothing of this run exists (or the name
		// belongs to another run with the same id, which we must not
		// touch). With it, the run id is ours and everything labelled
		// with it goes.
		if c.netID != "" {
			if terr := c.Teardown(ctx); terr != nil {
				err = errors.Join(err, fmt.Errorf("clean up after failed start: %w", terr))
			}
		}
		return nil, fmt.Errorf("start cluster %s: %w", spec.RunID, err)
	}
	return c, nil
}

func (c *dockerCluster) start(ctx context.Context, spec runtime.Spec) error {
	t0 := time.Now()
	labels := map[string]string{runtime.LabelRun: spec.RunID}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	subnet, err := c.createNetwork(ctx, labels)
	if err != nil {
		return err
	}
	c.gateway = gatewayIP(subnet).String()
	c.log.Debug("network ready", "since_start", time.Since(t0).Round(time.Millisecond))
	for i := 1; i <= spec.Nodes; i++ {
		c.nodes = append(c.nodes, runtime.NodeInfo{Name: runtime.NodeName(i), IP: nodeIP(subnet, i).String()})
	}
	for i := 1; i <= spec.Clients; i++ {
		c.clients = append(c.clients, runtime.NodeInfo{Name: runtime.ClientName(i), IP: clientIP(subnet, i).String()})
	}
	all := append(slices.Clone(c.nodes), c.clients...)
	hosts := make([]string, len(all))
	for i, n := range all {
		hosts[i] = n.Name + ":" + n.IP
	}
	var mu sync.Mutex
	err = parallel(all, func(n runtime.NodeInfo) error {
		id, err := c.createNode(ctx, spec, n, labels, hosts)
		if err != nil {
			return err
		}
		mu.Lock()
		c.ids[n.Name] = id
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	c.log.Debug("containers created", "since_start", time.Since(t0).Round(time.Millisecond))
	err = parallel(all, func(n runtime.NodeInfo) error {
		if err := c.cli.ContainerStart(ctx, c.ids[n.Name], container.StartOptions{}); err != nil {
			return fmt.Errorf("start %s: %w", n.Name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.log.Info("cluster up", "nodes", spec.Nodes, "clients", spec.Clients, "subnet", subnet, "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// createNetwork creates the run's internal bridge network on a free /24,
// picking another subnet when the daemon reports an overlap.
func (c *dockerCluster) createNetwork(ctx context.Context, labels map[string]string) (netip.Prefix, error) {
	name := NetworkName(c.runID)
	var tried []netip.Prefix
	for attempt := 1; ; attempt++ {
		used, err := usedPrefixes(ctx, c.cli)
		if err != nil {
			return netip.Prefix{}, err
		}
		subnet, err := pickSubnet(c.runID, append(used, tried...))
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("create network %s: %w", name, err)
		}
		resp, err := c.cli.NetworkCreate(ctx, name, network.CreateOptions{
			Driver:   "bridge",
			Internal: true,
			Labels:   labels,
			IPAM: &network.IPAM{Config: []network.IPAMConfig{{
				Subnet:  subnet.String(),
				Gateway: gatewayIP(subnet).String(),
			}}},
		})
		if err == nil {
			c.netID = resp.ID
			c.log.Debug("network created", "name", name, "subnet", subnet, "attempt", attempt)
			return subnet, nil
		}
		if !strings.Contains(err.Error(), "overlaps") || attempt == subnetAttempts {
			return netip.Prefix{}, fmt.Errorf("create network %s on %s: %w", name, subnet, err)
		}
		c.log.Debug("subnet taken, trying another", "subnet", subnet, "err", err)
		tried = append(tried, subnet)
	}
}

// usedPrefixes lists the IPv4 subnets of every Docker network and of the
// host's interfaces and routes.
func usedPrefixes(ctx context.Context, cli *client.Client) ([]netip.Prefix, error) {
	nets, err := cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	used := hostPrefixes()
	for _, n := range nets {
		for _, cfg := range n.IPAM.Config {
			if p, err := netip.ParsePrefix(cfg.Subnet); err == nil && p.Addr().Is4() {
				used = append(used, p.Masked())
			}
		}
	}
	return used, nil
}

func (c *dockerCluster) createNode(ctx context.Context, spec runtime.Spec, n runtime.NodeInfo, labels map[string]string, hosts []string) (string, error) {
	var binds []string
	if slices.Contains(c.clients, n) {
		for _, f := range spec.ClientFiles {
			binds = append(binds, f.Host+":"+f.Path+":ro")
		}
	}
	nodeLabels := map[string]string{runtime.LabelNode: n.Name}
	for k, v := range labels {
		nodeLabels[k] = v
	}
	netName := NetworkName(c.runID)
	resp, err := c.cli.ContainerCreate(ctx,
		&container.Config{
			Hostname: n.Name,
			Image:    spec.Image,
			Env:      spec.Env,
			Labels:   nodeLabels,
		},
		&container.HostConfig{
			NetworkMode: container.NetworkMode(netName),
			CapAdd:      []string{"NET_ADMIN"},
			ExtraHosts:  hosts,
			Binds:       binds,
		},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			netName: {
				IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: n.IP},
				Aliases:    []string{n.Name},
			},
		}},
		nil, ContainerName(c.runID, n.Name))
	if err != nil {
		return "", fmt.Errorf("create %s: %w", n.Name, err)
	}
	return resp.ID, nil
}

// parallel calls f on every item at once and joins the errors.
func parallel[T any](items []T, f func(T) error) error {
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() { errs[i] = f(it) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Reap removes every container and network labelled LabelRun that also
// carries every label in match: containers first, by force, then networks.
func (d *Runtime) Reap(ctx context.Context, match map[string]string) (runtime.Reaped, error) {
	r, err := removeLabelled(ctx, d.cli, d.churn, d.log, labelFilters(match))
	if err != nil {
		return r, fmt.Errorf("reap: %w", err)
	}
	d.log.Info("reaped", "containers", r.Containers, "networks", r.Networks)
	return r, nil
}

// labelFilters returns Docker label filters for LabelRun (any value) plus
// each key=value of match.
func labelFilters(match map[string]string) []string {
	out := []string{runtime.LabelRun}
	for k, v := range match {
		out = append(out, k+"="+v)
	}
	return out
}
