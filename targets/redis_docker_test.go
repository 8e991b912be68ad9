package targets_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/harness/image"
	"github.com/lockstorm/lockstorm/harness/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// redisTestLabel marks the containers of the Redis target tests.
const redisTestLabel = "lockstorm.test"

func redisSkipWithoutDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping Docker test in -short mode")
	}
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat("/var/run/docker.sock"); errors.Is(err, os.ErrNotExist) {
			t.Skip("skipping: Docker socket /var/run/docker.sock is absent and DOCKER_HOST is unset")
		}
	}
}

func redisRandom() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// redisSetUp starts a cluster of n nodes, sets tg up on it with opts, and
// removes everything when the test ends.
func redisSetUp(t *testing.T, tg targets.Target, n int, opts targets.Options) runtime.Cluster {
	t.Helper()
	redisSkipWithoutDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := runtime.NewDocker(ctx, nil)
	if err != nil {
		t.Fatalf("NewDocker: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	tag, err := image.Ensure(ctx, d.Client(), image.Options{})
	if err != nil {
		t.Fatalf("node image: %v", err)
	}
	start := time.Now()
	c, err := d.Start(ctx, runtime.Spec{
		RunID:  "redistest-" + redisRandom(),
		Image:  tag,
		Nodes:  n,
		Labels: map[string]string{redisTestLabel: "targets-redis"},
	})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Teardown(context.Background()); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	up := time.Since(start)
	var nodes []string
	for _, ni := range c.Nodes() {
		nodes = append(nodes, ni.Name)
	}
	start = time.Now()
	if err := tg.Setup(ctx, &targets.Env{Cluster: c, Nodes: nodes, Image: tag, Opts: opts}); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Logf("%s: %d nodes up in %s, set up in %s", tg.Name(), n, up.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { _ = tg.Teardown(context.Background()) })
	return c
}

// redisClient returns a client for process p, closed when the test ends.
func redisClient(t *testing.T, tg targets.Target, p int) targets.Client {
	t.Helper()
	c, err := tg.NewClient(context.Background(), p)
	if err != nil {
		t.Fatalf("NewClient(%d): %v", p, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func redisAcquire(t *testing.T, c targets.Client, key string) targets.Grant {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := c.Acquire(ctx, key)
	if err != nil {
		t.Fatalf("Acquire(%s) by the client on %s: %v", key, c.Node(), err)
	}
	return g
}

func redisMustBeBusy(t *testing.T, c targets.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := c.Acquire(ctx, key)
	if !errors.Is(err, targets.ErrNotAcquired) {
		t.Fatalf("Acquire(%s) while held: got grant %+v, err %v; want ErrNotAcquired", key, g, err)
	}
}

func redisRelease(t *testing.T, c targets.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Release(ctx, key); err != nil {
		t.Fatalf("Release(%s): %v", key, err)
	}
}

func redisMustNotBeHeld(t *testing.T, c targets.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Release(ctx, key); !errors.Is(err, targets.ErrNotHeld) {
		t.Fatalf("Release(%s) of a lock not held: %v; want ErrNotHeld", key, err)
	}
}

func redisToken(t *testing.T, g targets.Grant) int64 {
	t.Helper()
	if g.Token == nil {
		t.Fatalf("grant without a fencing token")
	}
	return *g.Token
}

// redisAcquireWithin retries until key is acquired or limit passes, and
// returns the grant.
func redisAcquireWithin(t *testing.T, c targets.Client, key string, limit time.Duration) targets.Grant {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		g, err := c.Acquire(ctx, key)
		cancel()
		if err == nil {
			return g
		}
		if !errors.Is(err, targets.ErrNotAcquired) {
			t.Fatalf("Acquire(%s): %v", key, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("Acquire(%s) still busy after %s", key, limit)
		}
	}
}

// redisExec runs a shell command on node and fails the test on error.
func redisExec(t *testing.T, c runtime.Cluster, node, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := targets.Sh(ctx, c, node, script)
	if err != nil {
		t.Fatalf("%s on %s: %v", script, node, err)
	}
	return out
}

// redisKillServer kills redis-server on node by PID.
func redisKillServer(t *testing.T, c runtime.Cluster, node string) {
	t.Helper()
	pids, err := targets.ServerPIDs(context.Background(), c, node, "redis-server")
	if err != nil || len(pids) != 1 {
		t.Fatalf("redis-server PIDs on %s: %v %v", node, pids, err)
	}
	redisExec(t, c, node, "kill -9 "+pids[0]+" && while kill -0 "+pids[0]+" 2>/dev/null; do sleep 0.05; done")
}

// redisNoFaultRun runs the mutex workload against target for 10 s without
// faults and checks that the history is valid and no container is left.
func redisNoFaultRun(t *testing.T, target string) {
	t.Helper()
	redisSkipWithoutDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	mark := "targets-redis-run-" + redisRandom()
	cfg := harness.DefaultConfig()
	cfg.Run.Target = target
	cfg.Run.TimeLimit = 10 * time.Second
	cfg.StoreDir = t.TempDir()
	cfg.Labels = map[string]string{redisTestLabel: mark}
	res, err := harness.Execute(ctx, cfg)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if res.Status != checker.Valid {
		t.Fatalf("status %s, want valid: %s", res.Status, res.Summary)
	}
	if res.Ops < 50 {
		t.Errorf("only %d ops in a 10-s run", res.Ops)
	}
	t.Logf("%s: %d ops; %s", target, res.Ops, res.Summary)
	d, err := runtime.NewDocker(ctx, nil)
	if err != nil {
		t.Fatalf("NewDocker: %v", err)
	}
	defer d.Close()
	left, err := d.Client().ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", redisTestLabel+"="+mark))})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	if len(left) > 0 {
		t.Errorf("%d containers left behind after the run", len(left))
	}
}

func TestDockerRedisLocksExclusively(t *testing.T) {
	tg := targets.NewRedis()
	redisSetUp(t, tg, 1, targets.Options{TTL: 2 * time.Second, Wait: 200 * time.Millisecond})
	if !tg.HasTokens() {
		t.Fatal("redis reports no fencing tokens")
	}
	if tg.Lease() != 2*time.Second {
		t.Fatalf("Lease() = %s, want the 2s TTL", tg.Lease())
	}
	a, b := redisClient(t, tg, 0), redisClient(t, tg, 1)

	t1 := redisToken(t, redisAcquire(t, a, "k"))
	redisMustBeBusy(t, b, "k")
	redisMustNotBeHeld(t, b, "k")
	redisRelease(t, a, "k")
	t2 := redisToken(t, redisAcquire(t, b, "k"))
	if t2 <= t1 {
		t.Fatalf("second grant's token %d is not above the first's %d", t2, t1)
	}
	redisMustBeBusy(t, a, "k")
	redisRelease(t, b, "k")
	redisMustNotBeHeld(t, b, "k")

	// A crashed holder keeps the lock until its TTL runs out.
	c := redisClient(t, tg, 2)
	t3 := redisToken(t, redisAcquire(t, c, "k"))
	c.Abandon()
	redisMustBeBusy(t, a, "k")
	t4 := redisToken(t, redisAcquireWithin(t, a, "k", 10*time.Second))
	if t4 <= t3 {
		t.Fatalf("token after expiry %d is not above the abandoned holder's %d", t4, t3)
	}
	redisRelease(t, a, "k")
}

func TestDockerRedisClockBumpExpiresLockEarly(t *testing.T) {
	tg := targets.NewRedis()
	cl := redisSetUp(t, tg, 1, targets.Options{TTL: 10 * time.Second, Wait: 500 * time.Millisecond})
	t.Cleanup(func() {
		_, _ = targets.Sh(context.Background(), cl, "n1", "/usr/local/bin/lockstorm-clock reset")
	})
	a, b := redisClient(t, tg, 0), redisClient(t, tg, 1)
	redisAcquire(t, a, "k")
	redisMustBeBusy(t, b, "k")
	// Redis compares the key's PX deadline with its (shimmed) wall clock:
	// a minute later, the 10-s lease has run out on the server.
	redisExec(t, cl, "n1", "/usr/local/bin/lockstorm-clock set 60")
	redisAcquire(t, b, "k")
	redisMustNotBeHeld(t, a, "k")
	redisExec(t, cl, "n1", "/usr/local/bin/lockstorm-clock reset")
	redisRelease(t, b, "k")
}

func TestDockerRedisRestartWithoutPersistenceForgetsLocks(t *testing.T) {
	tg := targets.NewRedis()
	cl := redisSetUp(t, tg, 1, targets.Options{TTL: 30 * time.Second, Wait: 200 * time.Millisecond})
	a, b := redisClient(t, tg, 0), redisClient(t, tg, 1)
	redisAcquire(t, a, "k")
	redisAcquire(t, a, "k2")
	redisRelease(t, a, "k2")
	before := redisToken(t, redisAcquire(t, a, "k2"))
	redisMustBeBusy(t, b, "k")

	redisKillServer(t, cl, "n1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tg.StartServer(ctx, "n1"); err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	// The 30-s lease is gone with the data, and so is the fencing counter.
	// (A fresh client: the old ones' connections died with the server.)
	c := redisClient(t, tg, 2)
	after := redisToken(t, redisAcquire(t, c, "k2"))
	if after >= before {
		t.Fatalf("token after a restart without persistence is %d, want it to start over below %d", after, before)
	}
	redisAcquire(t, c, "k")
}

func TestDockerRedisNoFaultRunIsValid(t *testing.T) {
	redisNoFaultRun(t, "redis")
}
