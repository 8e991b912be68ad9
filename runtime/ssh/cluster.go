package ssh

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/lockstorm/lockstorm/runtime"
)

// A place is where one node or client of a run lives: a machine, its
// run directory there, and the paths that are moved into it.
type place struct {
	m    machine
	sudo bool
	dir  string
	host string // the inventory's name of the host; "" for this machine
	// relocate maps path prefixes of a client machine into the run
	// directory (clientPrefixes, and the client files).
	relocate [][2]string
}

// local says whether the place is this machine.
func (p *place) local() bool { return p.host == "" }

// clientPrefixes are the directories in which the client pool keeps its
// files on a client machine (targets/process: BinDir, Dir, PIDDir). On
// the client machines of an SSH run they are moved into the run
// directory, so that the run needs no root there and leaves nothing
// behind.
var clientPrefixes = []string{"/opt/lockstorm/", "/run/lockstorm/"}

// move rewrites a path under one of p's relocated prefixes.
func (p *place) move(s string) string {
	for _, r := range p.relocate {
		if s == r[0] || s == strings.TrimSuffix(r[0], "/") {
			return r[1]
		}
		if rest, ok := strings.CutPrefix(s, r[0]); ok && strings.HasSuffix(r[0], "/") {
			return r[1] + rest
		}
	}
	return s
}

// moveArgs rewrites every argument that is a relocated path.
func (p *place) moveArgs(argv []string) []string {
	if len(p.relocate) == 0 {
		return argv
	}
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = p.move(a)
	}
	return out
}

// cluster is the Cluster of one run over SSH.
type cluster struct {
	rt      *Runtime
	log     *slog.Logger
	runID   string
	env     []string
	nodes   []runtime.NodeInfo
	clients []runtime.NodeInfo
	byName  map[string]*place
	gateway string

	mu     sync.Mutex
	paused map[string]bool
	killed map[string]bool
}

var _ runtime.Cluster = (*cluster)(nil)

func (c *cluster) RunID() string               { return c.runID }
func (c *cluster) Nodes() []runtime.NodeInfo   { return slices.Clone(c.nodes) }
func (c *cluster) Clients() []runtime.NodeInfo { return slices.Clone(c.clients) }
func (c *cluster) Gateway() string             { return c.gateway }

func (c *cluster) place(node string) (*place, error) {
	p, ok := c.byName[node]
	if !ok {
		return nil, fmt.Errorf("%w: %q in run %s", runtime.ErrUnknownNode, node, c.runID)
	}
	return p, nil
}

// ClientPlacement maps k clients onto the client hosts round robin:
// the i-th entry is the index of the host of c(i+1).
func ClientPlacement(k, hosts int) []int {
	out := make([]int, k)
	for i := range out {
		out[i] = i % hosts
	}
	return out
}

// placeClients maps c1..cK onto the client hosts, or onto this machine
// when there is none.
func (c *cluster) placeClients(ctx context.Context, spec runtime.Spec) error {
	hosts := c.rt.inv.ClientHosts()
	if len(hosts) == 0 {
		dir := filepath.Join(os.TempDir(), "lockstorm-"+spec.RunID)
		p := &place{m: localMachine{}, dir: dir}
		for _, pre := range clientPrefixes {
			p.relocate = append(p.relocate, [2]string{pre, dir + "/root" + pre})
		}
		for _, f := range spec.ClientFiles {
			p.relocate = append([][2]string{{f.Path, f.Host}}, p.relocate...)
		}
		for i := 1; i <= spec.Clients; i++ {
			name := runtime.ClientName(i)
			c.clients = append(c.clients, runtime.NodeInfo{Name: name, IP: "127.0.0.1"})
			c.byName[name] = p
		}
		c.log.Info("no client host in the inventory: the clients run on this machine, where client-side network faults do not apply")
		return nil
	}
	places := make([]*place, len(hosts))
	ips := make([]string, len(hosts))
	for i, h := range hosts {
		sh, err := c.rt.host(h)
		if err != nil {
			return err
		}
		if ips[i], err = resolve4(ctx, h.Address); err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
		dir := RunDir(spec.RunID)
		p := &place{m: sh, sudo: h.Sudo, dir: dir, host: h.Name}
		for _, f := range spec.ClientFiles {
			p.relocate = append(p.relocate, [2]string{f.Path, dir + "/root" + f.Path})
		}
		for _, pre := range clientPrefixes {
			p.relocate = append(p.relocate, [2]string{pre, dir + "/root" + pre})
		}
		places[i] = p
	}
	for i, hi := range ClientPlacement(spec.Clients, len(hosts)) {
		name := runtime.ClientName(i + 1)
		c.clients = append(c.clients, runtime.NodeInfo{Name: name, IP: ips[hi]})
		c.byName[name] = places[hi]
	}
	return nil
}

// distinct returns the distinct places of the run, and a name of each
// (its first node or client).
func (c *cluster) distinct() ([]*place, []string) {
	var ps []*place
	var names []string
	for _, n := range append(c.Nodes(), c.clients...) {
		p := c.byName[n.Name]
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
			names = append(names, n.Name)
		}
	}
	return ps, names
}

func (c *cluster) hostNames() []string {
	ps, _ := c.distinct()
	var out []string
	for _, p := range ps {
		if p.local() {
			out = append(out, "this machine")
		} else {
			out = append(out, p.host)
		}
	}
	return out
}

// eachPlace calls f on every distinct place at once.
func (c *cluster) eachPlace(f func(p *place, name string) error) error {
	ps, names := c.distinct()
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { errs[i] = f(p, names[i]) })
	}
	wg.Wait()
	return joinErrs(errs)
}

func joinErrs(errs []error) error {
	var msgs []string
	var first error
	for _, e := range errs {
		if e != nil {
			if first == nil {
				first = e
			}
			msgs = append(msgs, e.Error())
		}
	}
	if len(msgs) <= 1 {
		return first
	}
	return fmt.Errorf("%w (and: %s)", first, strings.Join(msgs[1:], "; "))
}

// setup makes the run directory on every machine of the run.
func (c *cluster) setup(ctx context.Context, labels map[string]string) error {
	keys := make([]string, 0, len(labels))
	for k, v := range labels {
		if strings.ContainsAny(k+v, "\n\r") {
			return fmt.Errorf("%w: label %q holds a line break", runtime.ErrBadSpec, k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, labels[k])
	}
	return c.eachPlace(func(p *place, name string) error {
		script := SetupScript
		if p.local() {
			script = strings.ReplaceAll(script, RunRoot+"/$1", `"$3"`)
			script = strings.ReplaceAll(script, "chmod 755 "+RunRoot+" ", "chmod 755 ")
		}
		_, serr, code, err := runOut(ctx, p.m, rootLine(p.sudo, script, c.runID, name, p.dir), []byte(b.String()))
		if err == nil && code != 0 {
			err = fmt.Errorf("exit status %d: %s", code, strings.TrimSpace(serr))
		}
		if err != nil {
			return fmt.Errorf("make the run directory %s on %s: %w (the SSH user needs root there, or sudo: true)", p.dir, p.m.label(), err)
		}
		return nil
	})
}

// copyClientFiles copies the client files to every client host, into
// the run directory.
func (c *cluster) copyClientFiles(ctx context.Context, files []runtime.File) error {
	if len(files) == 0 {
		return nil
	}
	return c.eachPlace(func(p *place, name string) error {
		if p.local() || !strings.HasPrefix(name, "c") {
			return nil
		}
		for _, f := range files {
			dst := p.move(f.Path)
			if err := c.copyTo(ctx, p, f.Host, filepath.Dir(dst), filepath.Base(dst)); err != nil {
				return fmt.Errorf("copy %s to %s: %w", f.Host, p.m.label(), err)
			}
		}
		return nil
	})
}

func (c *cluster) state(node string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.killed[node]:
		return fmt.Errorf("node %s is killed", node)
	case c.paused[node]:
		return fmt.Errorf("node %s is paused", node)
	}
	return nil
}

func (c *cluster) Exec(ctx context.Context, node string, cmd []string, opts runtime.ExecOptions) (runtime.ExecResult, error) {
	p, err := c.place(node)
	if err != nil {
		return runtime.ExecResult{}, err
	}
	if len(cmd) == 0 {
		return runtime.ExecResult{}, fmt.Errorf("exec on %s: empty command", node)
	}
	if opts.Detach && opts.Stdin != nil {
		return runtime.ExecResult{}, fmt.Errorf("exec on %s: stdin cannot be fed to a detached command", node)
	}
	if err := c.state(node); err != nil {
		return runtime.ExecResult{}, fmt.Errorf("exec %q on %s: %w", cmd[0], node, err)
	}
	if p.local() {
		if res, handled, err := localNetwork(cmd); handled {
			return res, err
		}
	}
	argv := p.moveArgs(cmd)
	env := append(slices.Clone(c.env), opts.Env...)
	user := opts.User
	if p.local() {
		user = "" // this machine's clients run as the harness's user
	}
	if opts.Detach {
		line := detachLine(c.runID, p.dir, p.sudo, user, env, argv)
		_, serr, code, err := runOut(ctx, p.m, line, nil)
		if err == nil && code != 0 {
			err = fmt.Errorf("exit status %d: %s", code, strings.TrimSpace(serr))
		}
		if err != nil {
			return runtime.ExecResult{}, fmt.Errorf("exec %q on %s: %w", cmd[0], node, err)
		}
		return runtime.ExecResult{}, nil
	}
	out, serr, code, err := runOut(ctx, p.m, commandLine(c.runID, p.sudo, user, env, argv), opts.Stdin)
	if err != nil {
		return runtime.ExecResult{}, fmt.Errorf("exec %q on %s: %w", cmd[0], node, err)
	}
	return runtime.ExecResult{Stdout: out, Stderr: serr, ExitCode: code}, nil
}

// ErrNoClientHosts is what a command that would change the firewall of a
// client gets when the run's clients run on this machine (the inventory
// has no client host): lockstorm never touches this machine's firewall.
var ErrNoClientHosts = fmt.Errorf("client-side network faults do not apply without client hosts: the inventory has no host with role: client, so the clients run on this machine, whose firewall lockstorm does not touch")

// localNetwork answers the iptables commands of the network nemeses on
// this machine without running them: one that would add rules
// (iptables-restore) is refused with ErrNoClientHosts; the others (list
// or remove lockstorm's chains, which cannot exist here) succeed with no
// output.
func localNetwork(cmd []string) (runtime.ExecResult, bool, error) {
	joined := strings.Join(cmd, " ")
	if !strings.Contains(joined, "iptables") {
		return runtime.ExecResult{}, false, nil
	}
	if strings.Contains(joined, "iptables-restore") {
		return runtime.ExecResult{}, true, ErrNoClientHosts
	}
	return runtime.ExecResult{}, true, nil
}

func (c *cluster) Spawn(ctx context.Context, node string, cmd []string, opts runtime.ExecOptions) (runtime.Process, error) {
	p, err := c.place(node)
	if err != nil {
		return nil, err
	}
	if len(cmd) == 0 {
		return nil, fmt.Errorf("spawn on %s: empty command", node)
	}
	if err := c.state(node); err != nil {
		return nil, fmt.Errorf("spawn %q on %s: %w", cmd[0], node, err)
	}
	user := opts.User
	if p.local() {
		user = ""
	}
	env := append(slices.Clone(c.env), opts.Env...)
	s, err := p.m.start(ctx, commandLine(c.runID, p.sudo, user, env, p.moveArgs(cmd)))
	if err != nil {
		return nil, fmt.Errorf("spawn %q on %s: %w", cmd[0], node, err)
	}
	return &process{s: s}, nil
}

// process is a spawned command.
type process struct{ s stream }

func (p *process) Stdin() io.WriteCloser { return p.s.stdin() }
func (p *process) Stdout() io.Reader     { return p.s.stdout() }
func (p *process) Stderr() io.Reader     { return p.s.stderr() }
func (p *process) Close() error          { return p.s.close() }

// Wait implements runtime.Process.
func (p *process) Wait(ctx context.Context) (int, error) {
	type res struct {
		code int
		err  error
	}
	ch := make(chan res, 1)
	go func() { code, err := p.s.wait(); ch <- res{code, err} }()
	select {
	case r := <-ch:
		return r.code, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// signal sends sig to the run's processes on node's machine.
func (c *cluster) signal(ctx context.Context, p *place, sig string) error {
	_, serr, code, err := runOut(ctx, p.m, rootLine(p.sudo, SignalScript, c.runID, p.dir, sig), nil)
	if err == nil && code != 0 {
		err = fmt.Errorf("exit status %d: %s", code, strings.TrimSpace(serr))
	}
	return err
}

// Pause stops every process of the run on node's machine (SIGSTOP).
func (c *cluster) Pause(ctx context.Context, node string) error {
	p, err := c.place(node)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.paused[node] || c.killed[node] {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	if err := c.signal(ctx, p, "STOP"); err != nil {
		return fmt.Errorf("pause %s: %w", node, err)
	}
	c.set(&c.paused, node, true)
	c.log.Debug("paused", "node", node)
	return nil
}

// Unpause continues them (SIGCONT).
func (c *cluster) Unpause(ctx context.Context, node string) error {
	p, err := c.place(node)
	if err != nil {
		return err
	}
	c.mu.Lock()
	paused := c.paused[node]
	c.mu.Unlock()
	if !paused {
		return nil
	}
	if err := c.signal(ctx, p, "CONT"); err != nil {
		return fmt.Errorf("unpause %s: %w", node, err)
	}
	c.set(&c.paused, node, false)
	c.log.Debug("unpaused", "node", node)
	return nil
}

// Kill sends SIGKILL to every process of the run on node's machine and
// waits until they are gone; Exec fails until Restart.
func (c *cluster) Kill(ctx context.Context, node string) error {
	p, err := c.place(node)
	if err != nil {
		return err
	}
	c.mu.Lock()
	killed := c.killed[node]
	c.mu.Unlock()
	if killed {
		return nil
	}
	if err := c.signal(ctx, p, "KILL"); err != nil {
		return fmt.Errorf("kill %s: %w", node, err)
	}
	c.set(&c.killed, node, true)
	c.set(&c.paused, node, false)
	c.log.Debug("killed", "node", node)
	return nil
}

// Restart marks a killed node running again: its files are kept, and no
// process runs until the target starts its servers again.
func (c *cluster) Restart(ctx context.Context, node string) error {
	if _, err := c.place(node); err != nil {
		return err
	}
	c.set(&c.killed, node, false)
	c.log.Debug("restarted", "node", node)
	return nil
}

func (c *cluster) set(m *map[string]bool, node string, v bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *m == nil {
		*m = map[string]bool{}
	}
	(*m)[node] = v
}

// Teardown stops every process of the run on every machine (SIGCONT,
// then SIGKILL), removes the run directory and, on a host where no other
// run is left, lockstorm's chains and the targets' files. It is
// idempotent, ignores the cancellation of ctx, and names the hosts it
// could not clean.
func (c *cluster) Teardown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	err := c.eachPlace(func(p *place, _ string) error {
		if p.local() {
			_, serr, code, err := runOut(ctx, p.m, rootLine(false, localCleanupScript, c.runID, p.dir), nil)
			if err == nil && code != 0 {
				err = fmt.Errorf("exit status %d: %s", code, strings.TrimSpace(serr))
			}
			if err != nil {
				return fmt.Errorf("clean up this machine: %w", err)
			}
			return nil
		}
		return c.rt.cleanup(ctx, c.rt.hostByName(p.host), c.runID)
	})
	if err != nil {
		return fmt.Errorf("teardown %s: %w", c.runID, err)
	}
	return nil
}

// localCleanupScript stops the run's processes on this machine and
// removes its directory there: sh -c localCleanupScript sh RUN DIR.
const localCleanupScript = runPIDs + `ps=$(pids "$1" "$2" | sort -u)
if [ -n "$ps" ]; then kill -s CONT $ps 2>/dev/null; kill -s KILL $ps 2>/dev/null; fi
rm -rf "$2"`
