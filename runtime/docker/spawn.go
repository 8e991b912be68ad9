package docker

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/lockstorm/lockstorm/runtime"
)

// execNoInput are the options of an exec without input.
var execNoInput = runtime.ExecOptions{}

// Spawn implements runtime.Cluster: a docker exec with its standard
// streams attached, demultiplexed into a pipe per stream.
func (c *dockerCluster) Spawn(ctx context.Context, node string, cmd []string, opts runtime.ExecOptions) (runtime.Process, error) {
	id, err := c.id(node)
	if err != nil {
		return nil, err
	}
	if len(cmd) == 0 {
		return nil, fmt.Errorf("spawn on %s: empty command", node)
	}
	created, err := c.cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd: cmd, Env: opts.Env, User: opts.User,
		AttachStdin: true, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return nil, fmt.Errorf("spawn %q on %s: %w", cmd[0], node, err)
	}
	resp, err := c.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("spawn %q on %s: attach: %w", cmd[0], node, err)
	}
	p := &process{c: c, execID: created.ID, conn: resp, done: make(chan struct{})}
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	p.stdout, p.stderr = outR, errR
	go func() {
		defer close(p.done)
		_, err := stdcopy.StdCopy(outW, errW, resp.Reader)
		p.readErr = err
		outW.CloseWithError(io.EOF)
		errW.CloseWithError(io.EOF)
	}()
	return p, nil
}

// process is a spawned exec: its hijacked connection carries stdin one
// way and the multiplexed output the other.
type process struct {
	c       *dockerCluster
	execID  string
	conn    types.HijackedResponse
	stdout  *io.PipeReader
	stderr  *io.PipeReader
	done    chan struct{} // closed when the output has ended
	readErr error

	closeOnce sync.Once
}

func (p *process) Stdin() io.WriteCloser { return stdinOf{p} }
func (p *process) Stdout() io.Reader     { return p.stdout }
func (p *process) Stderr() io.Reader     { return p.stderr }

// Wait implements runtime.Process.
func (p *process) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return p.c.exitCode(ctx, p.execID)
}

// Close implements runtime.Process.
func (p *process) Close() error {
	p.closeOnce.Do(func() {
		p.conn.Close()
		p.stdout.Close()
		p.stderr.Close()
	})
	return nil
}

// stdinOf writes to the process's input; Close half-closes the
// connection, which the process reads as end of file.
type stdinOf struct{ p *process }

func (s stdinOf) Write(b []byte) (int, error) { return s.p.conn.Conn.Write(b) }
func (s stdinOf) Close() error                { return s.p.conn.CloseWrite() }
