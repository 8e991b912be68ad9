package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lockstorm/lockstorm/runtime"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

func (c *dockerCluster) Exec(ctx context.Context, node string, cmd []string, opts runtime.ExecOptions) (runtime.ExecResult, error) {
	id, err := c.id(node)
	if err != nil {
		return runtime.ExecResult{}, err
	}
	if len(cmd) == 0 {
		return runtime.ExecResult{}, fmt.Errorf("exec on %s: empty command", node)
	}
	if opts.Detach && opts.Stdin != nil {
		return runtime.ExecResult{}, fmt.Errorf("exec on %s: stdin cannot be fed to a detached command", node)
	}
	res, err := c.exec(ctx, id, cmd, opts)
	if err != nil {
		return res, fmt.Errorf("exec %q on %s: %w", cmd[0], node, err)
	}
	return res, nil
}

func (c *dockerCluster) exec(ctx context.Context, id string, cmd []string, opts runtime.ExecOptions) (runtime.ExecResult, error) {
	created, err := c.cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd:          cmd,
		Env:          opts.Env,
		User:         opts.User,
		AttachStdin:  opts.Stdin != nil,
		AttachStdout: !opts.Detach,
		AttachStderr: !opts.Detach,
	})
	if err != nil {
		return runtime.ExecResult{}, err
	}
	if opts.Detach {
		return runtime.ExecResult{}, c.cli.ContainerExecStart(ctx, created.ID, container.ExecStartOptions{Detach: true})
	}
	resp, err := c.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return runtime.ExecResult{}, err
	}
	defer resp.Close()
	// The hijacked connection does not watch ctx: close it when ctx ends
	// so that the reads below return.
	stop := context.AfterFunc(ctx, resp.Close)
	defer stop()

	if opts.Stdin != nil {
		go func() {
			// A command that exits without reading its input makes this
			// write fail; its exit status tells the caller what happened.
			_, _ = resp.Conn.Write(opts.Stdin)
			_ = resp.CloseWrite()
		}()
	}
	var stdout, stderr bytes.Buffer
	_, err = stdcopy.StdCopy(&stdout, &stderr, resp.Reader)
	if ctx.Err() != nil {
		return runtime.ExecResult{}, ctx.Err()
	}
	if err != nil {
		return runtime.ExecResult{}, fmt.Errorf("read output: %w", err)
	}
	res := runtime.ExecResult{Stdout: stdout.String(), Stderr: stderr.String()}
	res.ExitCode, err = c.exitCode(ctx, created.ID)
	return res, err
}

// exitCode waits for the daemon to record that an exec has finished (it
// can lag a little behind the end of the output) and returns its status.
func (c *dockerCluster) exitCode(ctx context.Context, execID string) (int, error) {
	delay := time.Millisecond
	for {
		info, err := c.cli.ContainerExecInspect(ctx, execID)
		if err != nil {
			return 0, fmt.Errorf("inspect exec: %w", err)
		}
		if !info.Running {
			return info.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, errors.Join(errors.New("exec still running after its output ended"), ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}
