package targets_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/jackc/pgx/v5"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/harness/image"
	"github.com/lockstorm/lockstorm/harness/runtime"
	"github.com/lockstorm/lockstorm/harness/store"
	"github.com/lockstorm/lockstorm/targets"
)

// pgTestLabel marks the containers of the PostgreSQL target tests.
const pgTestLabel = "lockstorm.test"

// pgSkipWithoutDocker skips in -short mode and when there is no Docker
// socket at all.
func pgSkipWithoutDocker(t *testing.T) {
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

func pgRandom() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pgTarget starts a one-node cluster, sets tg up on it with opts, and
// removes everything when the test ends.
func pgTarget(t *testing.T, tg targets.Target, opts targets.Options) runtime.Cluster {
	t.Helper()
	pgSkipWithoutDocker(t)
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
	c, err := d.Start(ctx, runtime.Spec{
		RunID:  "pgtest-" + pgRandom(),
		Image:  tag,
		Nodes:  1,
		Labels: map[string]string{pgTestLabel: "targets-postgres"},
	})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Teardown(context.Background()); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	env := &targets.Env{Cluster: c, Nodes: []string{"n1"}, Image: tag, Opts: opts}
	start := time.Now()
	if err := tg.Setup(ctx, env); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Logf("%s set up in %s", tg.Name(), time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { _ = tg.Teardown(context.Background()) })
	return c
}

// pgClient returns a client for process p, closed when the test ends.
func pgClient(t *testing.T, tg targets.Target, p int) targets.Client {
	t.Helper()
	c, err := tg.NewClient(context.Background(), p)
	if err != nil {
		t.Fatalf("NewClient(%d): %v", p, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func pgAcquire(t *testing.T, c targets.Client, key string) targets.Grant {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := c.Acquire(ctx, key)
	if err != nil {
		t.Fatalf("Acquire(%s) on %s: %v", key, c.Node(), err)
	}
	return g
}

func pgMustBeBusy(t *testing.T, c targets.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := c.Acquire(ctx, key)
	if !errors.Is(err, targets.ErrNotAcquired) {
		t.Fatalf("Acquire(%s) while held: got grant %v, err %v; want ErrNotAcquired", key, g, err)
	}
}

func pgRelease(t *testing.T, c targets.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Release(ctx, key); err != nil {
		t.Fatalf("Release(%s): %v", key, err)
	}
}

func pgMustNotBeHeld(t *testing.T, c targets.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Release(ctx, key); !errors.Is(err, targets.ErrNotHeld) {
		t.Fatalf("Release(%s) of a lock not held: %v; want ErrNotHeld", key, err)
	}
}

func pgToken(t *testing.T, g targets.Grant) int64 {
	t.Helper()
	if g.Token == nil {
		t.Fatalf("grant without a fencing token")
	}
	return *g.Token
}

// pgSQL opens a connection of the test's own to the server on n1.
func pgSQL(t *testing.T, c runtime.Cluster) *pgx.Conn {
	t.Helper()
	addr, err := targets.NodeAddr(c, "n1", 5432)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable", host, port))
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestDockerPostgresAdvisoryLocksExclusively(t *testing.T) {
	tg := targets.NewPostgresAdvisory()
	c := pgTarget(t, tg, targets.Options{TTL: 2 * time.Second, Wait: 300 * time.Millisecond})
	if tg.Lease() != 0 || tg.HasTokens() {
		t.Fatalf("Lease %s, HasTokens %v; want 0 and false", tg.Lease(), tg.HasTokens())
	}
	a, b := pgClient(t, tg, 0), pgClient(t, tg, 1)
	if g := pgAcquire(t, a, "k"); g.Token != nil {
		t.Fatalf("advisory grant carries token %d", *g.Token)
	}
	pgMustBeBusy(t, b, "k")
	// Another key is independent.
	pgAcquire(t, b, "other")
	pgRelease(t, b, "other")
	pgRelease(t, a, "k")
	pgMustNotBeHeld(t, a, "k")
	pgAcquire(t, b, "k")
	pgMustBeBusy(t, a, "k")

	// The server sees the lock in pg_locks, held by b's session.
	var n int
	if err := pgSQL(t, c).QueryRow(context.Background(),
		"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("pg_locks shows %d granted advisory locks; want 1", n)
	}

	// A crashed holder's session ends when its TCP connection closes, and
	// the lock with it.
	b.Abandon()
	crashed := time.Now()
	deadline := crashed.Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := a.Acquire(ctx, "k")
		cancel()
		if err == nil {
			break
		}
		if !errors.Is(err, targets.ErrNotAcquired) || time.Now().After(deadline) {
			t.Fatalf("Acquire after the holder's crash: %v", err)
		}
	}
	t.Logf("advisory lock free %s after the holder's connection closed", time.Since(crashed).Round(time.Millisecond))
	pgRelease(t, a, "k")
}

func TestDockerPostgresServerClockFollowsShim(t *testing.T) {
	tg := targets.NewPostgresRowExpiry()
	c := pgTarget(t, tg, targets.Options{TTL: time.Second, Wait: 300 * time.Millisecond})
	if !tg.ClockShimmed() {
		t.Fatal("ClockShimmed() = false")
	}
	conn := pgSQL(t, c)
	skew := func() time.Duration {
		t.Helper()
		var now time.Time
		if err := conn.QueryRow(context.Background(), "SELECT clock_timestamp()").Scan(&now); err != nil {
			t.Fatal(err)
		}
		return now.Sub(time.Now())
	}
	if s := skew(); s > 5*time.Second || s < -5*time.Second {
		t.Fatalf("server clock off by %s before any clock fault", s)
	}
	if _, err := targets.Sh(context.Background(), c, "n1", image.ClockTool+" set 3600"); err != nil {
		t.Fatal(err)
	}
	if s := skew(); s < 3590*time.Second || s > 3610*time.Second {
		t.Fatalf("server clock off by %s after lockstorm-clock set 3600; want about an hour", s)
	}
	// With the server's clock an hour ahead, a fresh lease looks expired
	// to nobody: it is written and read with the same clock.
	a, b := pgClient(t, tg, 0), pgClient(t, tg, 1)
	pgAcquire(t, a, "k")
	pgMustBeBusy(t, b, "k")
	pgRelease(t, a, "k")
}

func TestDockerPostgresAdvisoryNoFaultRunIsValid(t *testing.T) {
	pgNoFaultRun(t, "postgres-advisory")
}

func TestDockerPostgresRowNoFaultRunIsValid(t *testing.T) {
	pgNoFaultRun(t, "postgres-row")
}

func TestDockerPostgresRowExpiryNoFaultRunIsValid(t *testing.T) {
	pgNoFaultRun(t, "postgres-row-expiry")
}

// pgRun runs the harness on target with the given nemeses and checks that
// it leaves no container behind.
func pgRun(t *testing.T, target string, limit time.Duration, nemeses []string, interval time.Duration) store.RunResult {
	t.Helper()
	pgSkipWithoutDocker(t)
	cfg := harness.DefaultConfig()
	cfg.Run.Target = target
	cfg.Run.TimeLimit = limit
	cfg.Run.Nemeses = nemeses
	if interval > 0 {
		cfg.Run.NemesisInterval = interval
	}
	cfg.StoreDir = t.TempDir()
	mark := "targets-postgres-" + pgRandom()
	cfg.Labels = map[string]string{pgTestLabel: mark}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := harness.Execute(ctx, cfg)
	if err != nil {
		t.Fatalf("Execute %s: %v (summary: %s)", target, err, res.Summary)
	}
	t.Logf("%s %v: %s, %d ops in %s", target, nemeses, res.Status, res.Ops, res.Duration.Round(time.Millisecond))
	d, err := runtime.NewDocker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	left, err := d.Client().ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", pgTestLabel+"="+mark))})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("%d containers of the run left behind", len(left))
	}
	return res
}

func pgNoFaultRun(t *testing.T, target string) {
	res := pgRun(t, target, 10*time.Second, nil, 0)
	if res.Status != checker.Valid {
		t.Fatalf("no-fault run of %s is %s: %s\n%s", target, res.Status, res.Summary, pgAnomalies(res))
	}
	if res.Ops < 100 {
		t.Errorf("only %d ops in a 10-s run", res.Ops)
	}
}

func pgAnomalies(res store.RunResult) string {
	var b strings.Builder
	for _, r := range res.Results {
		if r.Status == checker.Valid {
			continue
		}
		fmt.Fprintf(&b, "%s: %s: %s\n", r.Checker, r.Status, r.Summary)
		for _, a := range r.Anomalies {
			fmt.Fprintf(&b, "  %s %s: %s\n", a.Kind, a.Key, a.Explanation)
		}
	}
	return b.String()
}

// pgKillServer kills the postmaster with SIGKILL, as the kill nemesis
// does, and starts it again.
func pgKillServer(t *testing.T, c runtime.Cluster, tg targets.Servers) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pids, err := targets.ServerPIDs(ctx, c, "n1", tg.ServerProcess("n1"))
	if err != nil || len(pids) < 2 {
		t.Fatalf("server processes %v, %v; want the postmaster and its helpers", pids, err)
	}
	out, err := targets.Sh(ctx, c, "n1", "head -1 /var/lib/lockstorm-pg/postmaster.pid")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strconv.Atoi(strings.TrimSpace(out)); err != nil {
		t.Fatalf("postmaster pid %q: %v", out, err)
	}
	if _, err := targets.Sh(ctx, c, "n1", "kill -9 "+strings.TrimSpace(out)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := tg.StartServer(ctx, "n1"); err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	t.Logf("server restarted and ready in %s", time.Since(start).Round(time.Millisecond))
}
