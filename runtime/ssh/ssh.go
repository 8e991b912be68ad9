package ssh

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/lockstorm/lockstorm/runtime"
)

// teardownTimeout bounds Teardown, Reap and the cleanup after a failed
// Start.
const teardownTimeout = 2 * time.Minute

// Options configures a Runtime.
type Options struct {
	// Inventory lists the hosts (LoadInventory).
	Inventory *Inventory
	// AcceptNewHostKeys accepts the key of a host that known_hosts does
	// not list, and appends it there. A key that differs from the one
	// recorded is refused whatever it says.
	AcceptNewHostKeys bool
	// Log receives messages of Reap and Prepare; nil discards them.
	Log *slog.Logger
	// ShimSource returns the clock shim's C sources by name
	// (clockshim.c, lockstorm-clock.c), which Prepare compiles on the
	// hosts: the node image's (runtime/docker/image.File).
	ShimSource func(name string) ([]byte, error)
}

// Validate reports the first problem with o.
func (o Options) Validate() error {
	if o.Inventory == nil || len(o.Inventory.Hosts) == 0 {
		return fmt.Errorf("%w: no hosts", ErrBadInventory)
	}
	return nil
}

// Runtime is the runtime.Runtime that runs a run's servers on the
// inventory's server hosts and its clients on its client hosts (or on
// this machine), over SSH. It is safe for concurrent use.
type Runtime struct {
	inv        *Inventory
	log        *slog.Logger
	keys       *hostKeys
	shimSource func(string) ([]byte, error)

	mu    sync.Mutex
	hosts map[string]*sshHost // by Host.Name
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns a Runtime over the inventory's hosts. It connects to no
// host yet.
func New(opts Options) (*Runtime, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runtime{
		inv:   opts.Inventory,
		log:   log,
		keys:  &hostKeys{path: opts.Inventory.KnownHosts, acceptNew: opts.AcceptNewHostKeys},
		hosts: map[string]*sshHost{},

		shimSource: opts.ShimSource,
	}, nil
}

// Inventory returns the inventory the runtime was made with.
func (r *Runtime) Inventory() *Inventory { return r.inv }

// host returns the connection holder of h.
func (r *Runtime) host(h Host) (*sshHost, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sh, ok := r.hosts[h.Name]; ok {
		return sh, nil
	}
	auth, err := authFor(h)
	if err != nil {
		return nil, err
	}
	sh := &sshHost{host: h, config: &xssh.ClientConfig{
		User:            h.User,
		Auth:            auth,
		HostKeyCallback: r.keys.callback,
		Timeout:         dialTimeout,
	}}
	r.hosts[h.Name] = sh
	return sh, nil
}

// Close closes every SSH connection. Clusters stay up on their hosts.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.hosts {
		h.close()
	}
	r.hosts = map[string]*sshHost{}
	return nil
}

// resolve4 returns the IPv4 address of a host name or address.
func resolve4(ctx context.Context, addr string) (string, error) {
	if ip := net.ParseIP(addr); ip != nil {
		if ip4 := ip.To4(); ip4 != nil {
			return ip4.String(), nil
		}
		return "", fmt.Errorf("%s is not an IPv4 address", addr)
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip4", addr)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", addr, err)
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("resolve %s: no IPv4 address", addr)
	}
	return ips[0].String(), nil
}

// SharesHosts says that every run of this runtime uses the inventory's
// hosts, so that runs go one at a time (runtime.HostSharer).
func (r *Runtime) SharesHosts() bool { return true }

var _ runtime.HostSharer = (*Runtime)(nil)

// Start takes the first spec.Nodes server hosts as n1..nN, maps c1..cK
// onto the client hosts (or this machine), makes the run directory on
// each, and copies spec.ClientFiles to the client hosts. On error it
// removes what it made.
func (r *Runtime) Start(ctx context.Context, spec runtime.Spec) (runtime.Cluster, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	servers := r.inv.Servers()
	if spec.Nodes > len(servers) {
		return nil, fmt.Errorf("%w: %d nodes, and %s lists %d server hosts", runtime.ErrBadSpec, spec.Nodes, r.inv.Path, len(servers))
	}
	owner, err := runtime.OwnerLabel(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[runtime.LabelRun] = spec.RunID
	labels[runtime.LabelOwner] = owner
	log := spec.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &cluster{rt: r, log: log.With("run", spec.RunID), runID: spec.RunID, env: spec.Env, byName: map[string]*place{}}
	for i, h := range servers[:spec.Nodes] {
		sh, err := r.host(h)
		if err != nil {
			return nil, fmt.Errorf("start cluster %s: %w", spec.RunID, err)
		}
		ip, err := resolve4(ctx, h.Address)
		if err != nil {
			return nil, fmt.Errorf("start cluster %s: host %s: %w", spec.RunID, h.Name, err)
		}
		name := runtime.NodeName(i + 1)
		c.nodes = append(c.nodes, runtime.NodeInfo{Name: name, IP: ip})
		c.byName[name] = &place{m: sh, sudo: h.Sudo, dir: RunDir(spec.RunID), host: h.Name}
	}
	if spec.Clients > 0 {
		if err := c.placeClients(ctx, spec); err != nil {
			return nil, fmt.Errorf("start cluster %s: %w", spec.RunID, err)
		}
	}
	if err := c.setup(ctx, labels); err != nil {
		if terr := c.Teardown(ctx); terr != nil {
			err = errors.Join(err, fmt.Errorf("clean up after failed start: %w", terr))
		}
		return nil, fmt.Errorf("start cluster %s: %w", spec.RunID, err)
	}
	if err := c.copyClientFiles(ctx, spec.ClientFiles); err != nil {
		if terr := c.Teardown(ctx); terr != nil {
			err = errors.Join(err, fmt.Errorf("clean up after failed start: %w", terr))
		}
		return nil, fmt.Errorf("start cluster %s: %w", spec.RunID, err)
	}
	gw, err := c.byName[runtime.NodeName(1)].m.(*sshHost).localAddr(ctx)
	if err != nil {
		_ = c.Teardown(ctx)
		return nil, fmt.Errorf("start cluster %s: %w", spec.RunID, err)
	}
	c.gateway = gw
	c.log.Info("cluster up", "nodes", spec.Nodes, "clients", spec.Clients, "hosts", c.hostNames())
	return c, nil
}

// A runDir is one run directory found on a host.
type runDir struct {
	host   Host
	runID  string
	labels map[string]string
}

// parseList reads ListScript's output.
func parseList(h Host, out string) []runDir {
	var dirs []runDir
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "run "); ok {
			dirs = append(dirs, runDir{host: h, runID: id, labels: map[string]string{}})
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && len(dirs) > 0 {
			dirs[len(dirs)-1].labels[k] = v
		}
	}
	return dirs
}

// list returns the run directories on every host of the inventory; the
// error names the hosts it could not reach.
func (r *Runtime) list(ctx context.Context) ([]runDir, error) {
	var mu sync.Mutex
	var all []runDir
	err := eachHost(r.inv.Hosts, func(h Host) error {
		sh, err := r.host(h)
		if err != nil {
			return err
		}
		out, serr, code, err := runOut(ctx, sh, rootLine(h.Sudo, ListScript), nil)
		if err == nil && code != 0 {
			err = fmt.Errorf("list runs on %s: exit status %d: %s", h.Name, code, strings.TrimSpace(serr))
		}
		if err != nil {
			return err
		}
		mu.Lock()
		all = append(all, parseList(h, out)...)
		mu.Unlock()
		return nil
	})
	sort.Slice(all, func(i, j int) bool {
		return all[i].host.Line < all[j].host.Line || all[i].host.Line == all[j].host.Line && all[i].runID < all[j].runID
	})
	return all, err
}

// rootLine is the command line that runs script with sh, through sudo -n
// when the host asks for it, with args.
func rootLine(sudo bool, script string, args ...string) string {
	return QuoteArgs(append(append(sudoArgs(sudo, ""), "sh", "-c", script, "sh"), args...))
}

// eachHost calls f on every host at once and joins the errors.
func eachHost(hosts []Host, f func(Host) error) error {
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { errs[i] = f(h) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// cleanup runs CleanupScript for runID on host h.
func (r *Runtime) cleanup(ctx context.Context, h Host, runID string) error {
	sh, err := r.host(h)
	if err != nil {
		return err
	}
	_, serr, code, err := runOut(ctx, sh, rootLine(h.Sudo, CleanupScript(), runID), nil)
	if err != nil {
		return fmt.Errorf("clean up run %s on %s: %w", runID, sh.label(), err)
	}
	if code != 0 {
		return fmt.Errorf("clean up run %s on %s: exit status %d: %s", runID, sh.label(), code, strings.TrimSpace(serr))
	}
	return nil
}

// Reap removes, on every host of the inventory, the runs whose labels
// hold every label of match (nil: all runs): their processes, their run
// directories and, when no other run is left on a host, lockstorm's
// chains and the targets' files there. Reaped.Runs counts the run
// directories removed.
func (r *Runtime) Reap(ctx context.Context, match map[string]string) (runtime.Reaped, error) {
	return r.reapWhere(ctx, func(d runDir) bool {
		for k, v := range match {
			if d.labels[k] != v {
				return false
			}
		}
		return true
	})
}

// ReapOrphans removes the runs whose owner (the lockstorm process that
// started them, as their owner label says) has ended. Runs of owners
// that this process cannot see (another machine, another PID namespace)
// are left, and counted in Reaped.Unseen; `lockstorm clean --hosts FILE
// --run ID` removes one of them.
func (r *Runtime) ReapOrphans(ctx context.Context) (runtime.Reaped, error) {
	self, err := runtime.OwnerOf(os.Getpid())
	if err != nil {
		return runtime.Reaped{}, err
	}
	var unseen []string
	n, err := r.reapWhere(ctx, func(d runDir) bool {
		gone, known := runtime.OwnerGone(self, d.labels[runtime.LabelOwner])
		if !known && !slices.Contains(unseen, d.labels[runtime.LabelOwner]) {
			unseen = append(unseen, d.labels[runtime.LabelOwner])
		}
		return gone && known
	})
	n.Unseen = append(n.Unseen, unseen...)
	return n, err
}

func (r *Runtime) reapWhere(ctx context.Context, keep func(runDir) bool) (runtime.Reaped, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	dirs, lerr := r.list(ctx)
	var n runtime.Reaped
	var errs []error
	for _, d := range dirs {
		if !keep(d) {
			continue
		}
		if err := r.cleanup(ctx, d.host, d.runID); err != nil {
			errs = append(errs, err)
			continue
		}
		r.log.Info("reaped run", "run", d.runID, "host", d.host.Name)
		n.Runs++
	}
	if err := errors.Join(append([]error{lerr}, errs...)...); err != nil {
		return n, fmt.Errorf("reap: %w", err)
	}
	return n, nil
}

// hostByName returns the inventory's host of that name.
func (r *Runtime) hostByName(name string) Host {
	for _, h := range r.inv.Hosts {
		if h.Name == name {
			return h
		}
	}
	return Host{Name: name}
}
