package nemesis_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/runtime/docker"
	"github.com/lockstorm/lockstorm/targets"
)

// conformanceTarget runs a real, independent redis-server on every node,
// started with the clock shim, so that every nemesis has real server
// processes to act on. It names n1 as its primary. It hands out no
// clients: the conformance test watches the nodes, not locks.
type conformanceTarget struct {
	cluster runtime.Cluster
	nodes   []string
}

const redisPort = 6379

func (*conformanceTarget) Name() string { return "conformance-redis" }
func (*conformanceTarget) Describe() targets.Descriptor {
	return targets.Descriptor{Description: "one plain redis-server per node, for nemesis tests", DefaultNodes: 5,
		Ports: map[string]int{"redis": redisPort}}
}
func (*conformanceTarget) Prepare(*plan.Plan) (time.Duration, error) { return time.Second, nil }
func (*conformanceTarget) Binding() targets.Binding                  { return nil }

func (c *conformanceTarget) Setup(ctx context.Context, env *targets.Env) (time.Duration, error) {
	c.cluster, c.nodes = env.Cluster, env.Plan.NodeNames()
	for _, n := range c.nodes {
		if err := c.StartServer(ctx, n); err != nil {
			return 0, err
		}
	}
	return time.Second, nil
}

func (*conformanceTarget) Teardown(context.Context) error { return nil }

// ServerProcess implements targets.Servers.
func (*conformanceTarget) ServerProcess(string) string { return "redis-server" }

// StartServer implements targets.Servers: it starts redis-server without
// persistence and waits until it answers PING.
func (c *conformanceTarget) StartServer(ctx context.Context, node string) error {
	err := targets.StartDaemon(ctx, c.cluster, node, targets.Daemon{
		Name: "redis-server",
		Cmd:  fmt.Sprintf("redis-server --port %d --bind 0.0.0.0 --protected-mode no --save '' --appendonly no", redisPort),
		Shim: true,
	})
	if err != nil {
		return err
	}
	return wait.For(ctx, 15*time.Second, 50*time.Millisecond, func(ctx context.Context) error {
		out, err := targets.Sh(ctx, c.cluster, node, fmt.Sprintf("redis-cli -p %d ping", redisPort))
		if err == nil && strings.TrimSpace(out) != "PONG" {
			err = fmt.Errorf("ping answered %q", out)
		}
		return err
	})
}

// Primaries implements targets.Primaries.
func (c *conformanceTarget) Primaries(context.Context) ([]string, error) {
	return c.nodes[:1], nil
}

// ClockShimmed implements targets.ClockShimmed.
func (*conformanceTarget) ClockShimmed() bool { return true }

// dockerCluster starts n nodes of the node image for one test, and removes
// them when the test ends. It skips the test as testdocker.Need does.
func dockerCluster(t *testing.T, n int) runtime.Cluster {
	t.Helper()
	d := testdocker.Runtime(t, docker.New)
	return testdocker.Start(t, d, runtime.Spec{
		RunID: testdocker.ID("nemtest"), Nodes: n, Clients: conformanceClients,
		Labels: map[string]string{testdocker.Label: "nemesis"},
	})
}

// testLogger sends the nemeses' log lines to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
