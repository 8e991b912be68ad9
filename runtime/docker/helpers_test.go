package docker

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/runtime"

	"github.com/docker/docker/api/types/container"
)

// testTimeout bounds each Docker test's own context.
const testTimeout = 3 * time.Minute

// testSpec returns a Spec for a test cluster of n nodes, on the image of
// the runtime tests (testdocker.Image).
func testSpec(tb testing.TB, n int) runtime.Spec {
	return runtime.Spec{
		RunID:  testdocker.ID("test"),
		Image:  testdocker.Image(tb),
		Nodes:  n,
		Env:    []string{"LOCKSTORM_TEST=yes"},
		Labels: map[string]string{testdocker.Label: "runtime"},
	}
}

// startForTest starts a cluster and tears it down when the test ends,
// with Reap as the last safety net.
func startForTest(t *testing.T, d *Runtime, spec runtime.Spec) runtime.Cluster {
	t.Helper()
	t.Cleanup(func() { reapRun(t, d, spec.RunID) })
	return testdocker.Start(t, d, spec)
}

// reapRun removes whatever a test left of one run, as a safety net.
func reapRun(tb testing.TB, d *Runtime, runID string) {
	if _, err := d.Reap(context.Background(), map[string]string{runtime.LabelRun: runID}); err != nil {
		tb.Errorf("reap %s: %v", runID, err)
	}
}

// inspectNode returns Docker's view of a node's container.
func inspectNode(tb testing.TB, d *Runtime, c runtime.Cluster, node string) container.InspectResponse {
	tb.Helper()
	info, err := d.cli.ContainerInspect(context.Background(), ContainerName(c.RunID(), node))
	if err != nil {
		tb.Fatalf("inspect %s: %v", node, err)
	}
	return info
}

// mustExec runs cmd on node and fails the test unless it exits with 0.
func mustExec(tb testing.TB, c runtime.Cluster, node string, cmd ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Exec(ctx, node, cmd, runtime.ExecOptions{})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		tb.Fatalf("exec %q on %s: %v", cmd, node, err)
	}
	return res.Stdout
}

var echoOnce struct {
	sync.Once
	bin []byte
	err error
}

// echoBinary builds testdata/tcpecho as a static binary, once.
func echoBinary(tb testing.TB) []byte {
	tb.Helper()
	echoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lockstorm-tcpecho-")
		if err != nil {
			echoOnce.err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "tcpecho")
		cmd := exec.Command("go", "build", "-o", out, "./testdata/tcpecho")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			echoOnce.err = fmt.Errorf("build tcpecho: %w: %s", err, msg)
			return
		}
		echoOnce.bin, echoOnce.err = os.ReadFile(out)
	})
	if echoOnce.err != nil {
		tb.Fatal(echoOnce.err)
	}
	return echoOnce.bin
}

// echoPort is where the test echo servers listen.
const echoPort = "7000"

// installEcho copies the tcpecho helper to /tmp/tcpecho on node.
func installEcho(t *testing.T, c runtime.Cluster, node string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Exec(ctx, node, []string{"sh", "-c", "cat > /tmp/tcpecho && chmod 755 /tmp/tcpecho"},
		runtime.ExecOptions{Stdin: echoBinary(t)})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		t.Fatalf("install tcpecho on %s: %v", node, err)
	}
}

// serveEcho installs and starts an echo server on node and returns its
// address once the host can connect to it.
func serveEcho(t *testing.T, c runtime.Cluster, node string) string {
	t.Helper()
	installEcho(t, c, node)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Exec(ctx, node, []string{"/tmp/tcpecho", "serve", ":" + echoPort}, runtime.ExecOptions{Detach: true}); err != nil {
		t.Fatalf("start echo server on %s: %v", node, err)
	}
	addr := net.JoinHostPort(nodeInfo(t, c, node).IP, echoPort)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return addr
		}
		if ctx.Err() != nil {
			t.Fatalf("echo server on %s (%s) never accepted a connection: %v", node, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// echo sends msg over conn and returns the line that comes back, or an
// error if none comes back before the deadline.
func echo(conn net.Conn, r *bufio.Reader, msg string, wait time.Duration) (string, error) {
	if _, err := fmt.Fprintln(conn, msg); err != nil {
		return "", err
	}
	if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return "", err
	}
	line, err := r.ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

// nodeInfo returns the NodeInfo of the named node.
func nodeInfo(tb testing.TB, c runtime.Cluster, node string) runtime.NodeInfo {
	tb.Helper()
	for _, n := range c.Nodes() {
		if n.Name == node {
			return n
		}
	}
	tb.Fatalf("no node %s in %v", node, c.Nodes())
	return runtime.NodeInfo{}
}
