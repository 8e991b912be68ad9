// Package process is the binding of client processes: the clients of a
// run as processes in the client containers, one per process id, each
// speaking the client protocol (docs/protocol.md) on its standard streams.
// It is the binding of every protocol client, lockstorm's own `lockstorm
// client` and a user's program in any language, beside the Go bindings of
// the service packages.
package process

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/internal/relay"
	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/protocol"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// Where client processes live in a client container.
const (
	// BinDir holds the lockstorm binary (Binary) and other programs
	// the harness mounts into the client containers.
	BinDir = "/opt/lockstorm/bin"
	// Dir receives the files a user's client command names (Command).
	Dir = "/opt/lockstorm/client"
	// PIDDir holds each client's process group id, which a freeze stops
	// and a crash kills.
	PIDDir = "/run/lockstorm/clients"
)

// InitTimeout is the least time a client process gets to answer init:
// starting an interpreter and importing a lock library (tooz with its
// entry points, a JVM) takes seconds when several clients start at once on
// a small machine.
const InitTimeout = 30 * time.Second

// A Pool runs the clients of a run as processes, one per process id,
// spread over the client containers c1..cK, each speaking the client
// protocol on its standard streams.
type Pool struct {
	Cluster runtime.Cluster
	// Plan is the run, whose facts each client gets in its init.
	Plan *plan.Plan
	// Keys are the lock keys of the workload, also in the init.
	Keys []string
	// Command is what runs in a client container: lockstorm's own
	// `client` subcommand, or the user's client with its files copied in
	// (see Command).
	Command []string
	// Name names the clients in errors and logs.
	Name string
	// Containers are the client containers, c1..cK.
	Containers []string
	Log        *slog.Logger
}

// Prepare makes the client directories in every client container and
// copies the client's files there.
func (pp *Pool) Prepare(ctx context.Context, files []string) error {
	for _, c := range pp.Containers {
		res, err := pp.Cluster.Exec(ctx, c, []string{"mkdir", "-p", Dir, PIDDir}, runtime.ExecOptions{})
		if err == nil {
			err = res.Err()
		}
		if err != nil {
			return fmt.Errorf("prepare client container %s: %w", c, err)
		}
		for _, f := range files {
			if err := pp.Cluster.CopyTo(ctx, c, f, Dir); err != nil {
				return fmt.Errorf("copy the client to %s: %w", c, err)
			}
		}
	}
	return nil
}

// Container is the client container of process: process ids of one
// worker slot stay on one machine.
func (pp *Pool) Container(process int) string {
	return pp.Containers[process%len(pp.Containers)]
}

// initRetry is how long the pool waits before it starts again a client
// that refused init.
const initRetry = time.Second

// NewClient starts the client process of process id p (see start). A
// client that refuses init, because it cannot reach its servers (its
// machine is cut off by a fault, say), is started again every initRetry
// until InitTimeout has passed since the first attempt; the error after
// that says why it could not start.
func (pp *Pool) NewClient(ctx context.Context, process int) (targets.Client, error) {
	// As in start, the init's own deadline decides, not the caller's.
	ctx = context.WithoutCancel(ctx)
	deadline := time.Now().Add(InitTimeout)
	for {
		c, err := pp.start(ctx, process)
		if err == nil || !errors.Is(err, protocol.ErrInitRefused) || time.Now().Add(initRetry).After(deadline) {
			if err != nil {
				pp.Log.Error("client did not start", "err", err)
			}
			return c, err
		}
		pp.Log.Info("client refused init; starting it again", "process", process, "err", err)
		if !wait.Sleep(ctx, initRetry) {
			return nil, fmt.Errorf("start client process %d: %w", process, ctx.Err())
		}
	}
}

// start starts the process of process id p behind its relay, connects
// to it, sends it init and waits for init_ok (up to the op timeout, and at
// least InitTimeout).
func (pp *Pool) start(ctx context.Context, process int) (targets.Client, error) {
	c := pp.Container(process)
	// The init's own deadline, not the caller's, decides when a client
	// that never answers is given up on, so that the error says so.
	ctx = context.WithoutCancel(ctx)
	pidFile := fmt.Sprintf("%s/p%d.pid", PIDDir, process)
	// The relay runs the client in a process group of its own, writes its
	// id down (the group is what a freeze stops and a crash kills,
	// children included), and hands it the TCP connection as its standard
	// input and output.
	cmd := append([]string{Binary, "relay", "--pid-file", pidFile, "--"}, pp.Command...)
	proc, err := pp.Cluster.Spawn(ctx, c, cmd, runtime.ExecOptions{})
	if err != nil {
		return nil, fmt.Errorf("start client process %d on %s: %w", process, c, err)
	}
	name := fmt.Sprintf("client %s (process %d on %s)", pp.Name, process, c)
	pc := &procClient{pool: pp, proc: proc, container: c, pidFile: pidFile, name: name}
	pc.stderrDone = make(chan struct{})
	go pc.pumpStderr(pp.Log.With("process", process, "on", c))
	if pc.conn, err = pp.dial(ctx, proc, c); err != nil {
		pc.Abandon()
		return nil, fmt.Errorf("%w: %s: %v%s", targets.ErrBrokenClient, name, err, pc.lastWords())
	}
	node := pp.Plan.NodeFor(process)
	pc.Conn = protocol.NewConn(name, pc.conn, node)
	pc.Conn.Trace = transcript(pp.Log.With("process", process), transcriptLines)
	err = pc.Init(ctx, protocol.InitFor(pp.Plan, pp.Keys, process, node), max(pp.Plan.OpTimeout, InitTimeout))
	if err != nil {
		pc.Abandon()
		return nil, fmt.Errorf("%w: %w%s", targets.ErrBrokenClient, err, pc.lastWords())
	}
	return pc, nil
}

// dial reads the port the relay announces and connects to it.
func (pp *Pool) dial(ctx context.Context, proc runtime.Process, container string) (*net.TCPConn, error) {
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(proc.Stdout())
		if sc.Scan() {
			port <- sc.Text()
		}
		close(port)
		_, _ = io.Copy(io.Discard, proc.Stdout())
	}()
	var line string
	select {
	case l, ok := <-port:
		if !ok {
			return nil, errors.New("the relay exited before it listened")
		}
		line = l
	case <-time.After(InitTimeout):
		return nil, errors.New("the relay did not listen within " + InitTimeout.String())
	}
	f := strings.Fields(line)
	if len(f) != 2 || f[0] != relay.Announce {
		return nil, fmt.Errorf("the relay said %q", line)
	}
	ip := ""
	for _, n := range pp.Cluster.Clients() {
		if n.Name == container {
			ip = n.IP
		}
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, f[1]))
	if err != nil {
		return nil, fmt.Errorf("connect to the relay: %w", err)
	}
	tc := conn.(*net.TCPConn)
	_ = tc.SetNoDelay(true)
	return tc, nil
}
