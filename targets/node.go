package targets

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/lockstorm/lockstorm/runtime"
)

// A Daemon describes a server process that a target runs on a node.
type Daemon struct {
	// Name is the process name as pgrep -x sees it (e.g. "redis-server").
	Name string
	// Cmd starts the server in the foreground or background; it is run
	// detached through sh -c, with its output appended to Log.
	Cmd string
	// Log is the file inside the node that receives the server's output.
	Log string
	// Env holds extra environment variables.
	Env []string
	// Shim preloads the project's clock shim, so that the clock nemesis
	// can shift the server's clock.
	Shim bool
	// User runs the server as this user ("" for root).
	User string
}

// StartDaemon starts d on node, detached, and returns at once. With Shim,
// the clock offset file is created (offset 0) before the server starts, so
// that the shim maps it from the first clock read.
func StartDaemon(ctx context.Context, c runtime.Cluster, node string, d Daemon) error {
	env := append([]string(nil), d.Env...)
	if d.Shim {
		res, err := c.Exec(ctx, node, []string{"sh", "-c",
			"mkdir -p /run/lockstorm && chmod 777 /run/lockstorm && " +
				"{ [ -f " + runtime.ClockFile + " ] || " + runtime.ClockTool + " reset; } && chmod 666 " + runtime.ClockFile},
			runtime.ExecOptions{})
		if err != nil {
			return fmt.Errorf("prepare clock file on %s: %w", node, err)
		}
		if err := res.Err(); err != nil {
			return fmt.Errorf("prepare clock file on %s: %w", node, err)
		}
		env = append(env, "LD_PRELOAD="+runtime.ShimPath)
	}
	logFile := d.Log
	if logFile == "" {
		logFile = "/var/log/lockstorm-" + d.Name + ".log"
	}
	cmd := fmt.Sprintf("exec %s >>%s 2>&1", d.Cmd, logFile)
	_, err := c.Exec(ctx, node, []string{"sh", "-c", cmd}, runtime.ExecOptions{Detach: true, Env: env, User: d.User})
	if err != nil {
		return fmt.Errorf("start %s on %s: %w", d.Name, node, err)
	}
	return nil
}

// Sh runs a shell command on node and returns its standard output; a
// non-zero exit is an error carrying the command's standard error.
func Sh(ctx context.Context, c runtime.Cluster, node, script string) (string, error) {
	res, err := c.Exec(ctx, node, []string{"sh", "-c", script}, runtime.ExecOptions{})
	if err != nil {
		return "", err
	}
	if err := res.Err(); err != nil {
		return res.Stdout, fmt.Errorf("%s on %s: %w", firstWord(script), node, err)
	}
	return res.Stdout, nil
}

// ServerPIDs returns the PIDs of processes named name on node.
func ServerPIDs(ctx context.Context, c runtime.Cluster, node, name string) ([]string, error) {
	res, err := c.Exec(ctx, node, []string{"pgrep", "-x", name}, runtime.ExecOptions{})
	if err != nil {
		return nil, err
	}
	if res.ExitCode == 1 {
		return nil, nil
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	return strings.Fields(res.Stdout), nil
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

// NodeAddr returns "ip:port" of node in the cluster.
func NodeAddr(c runtime.Cluster, node string, port int) (string, error) {
	for _, n := range c.Nodes() {
		if n.Name == node {
			return net.JoinHostPort(n.IP, fmt.Sprint(port)), nil
		}
	}
	return "", fmt.Errorf("%w: %s", runtime.ErrUnknownNode, node)
}
