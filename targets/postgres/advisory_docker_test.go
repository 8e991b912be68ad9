package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/postgres"
	"github.com/lockstorm/lockstorm/targets/targettest"
)

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

func TestDockerAdvisoryLocksExclusively(t *testing.T) {
	tg := postgres.NewAdvisory()
	c := targettest.SetUp(t, tg, 1, targettest.Settings{TTL: 2 * time.Second, Wait: 300 * time.Millisecond})
	targettest.ServerVersion(t, tg, "postgresql 15.")
	if targettest.Lease(t, tg) != 0 || tg.HasTokens() {
		t.Fatalf("Lease %s, HasTokens %v; want 0 and false", targettest.Lease(t, tg), tg.HasTokens())
	}
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)
	if g := targettest.Acquire(t, a, "k"); g.Token != nil {
		t.Fatalf("advisory grant carries token %d", *g.Token)
	}
	targettest.MustBeBusy(t, b, "k")
	// Another key is independent.
	targettest.Acquire(t, b, "other")
	targettest.Release(t, b, "other")
	targettest.Release(t, a, "k")
	targettest.MustNotBeHeld(t, a, "k")
	targettest.Acquire(t, b, "k")
	targettest.MustBeBusy(t, a, "k")

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
	targettest.Release(t, a, "k")
}

func TestDockerPostgresServerClockFollowsShim(t *testing.T) {
	tg := postgres.NewRowExpiry()
	c := targettest.SetUp(t, tg, 1, targettest.Settings{TTL: time.Second, Wait: 300 * time.Millisecond})
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
	if _, err := targets.Sh(context.Background(), c, "n1", runtime.ClockTool+" set 3600"); err != nil {
		t.Fatal(err)
	}
	if s := skew(); s < 3590*time.Second || s > 3610*time.Second {
		t.Fatalf("server clock off by %s after lockstorm-clock set 3600; want about an hour", s)
	}
	// With the server's clock an hour ahead, a fresh lease looks expired
	// to nobody: it is written and read with the same clock.
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)
	targettest.Acquire(t, a, "k")
	targettest.MustBeBusy(t, b, "k")
	targettest.Release(t, a, "k")
}

func TestDockerAdvisoryNoFaultRunIsValid(t *testing.T) {
	targettest.NoFaultRun(t, "postgres-advisory", 20*time.Second)
}

func TestDockerRowNoFaultRunIsValid(t *testing.T) {
	targettest.NoFaultRun(t, "postgres-row", 20*time.Second)
}

func TestDockerRowExpiryNoFaultRunIsValid(t *testing.T) {
	targettest.NoFaultRun(t, "postgres-row-expiry", 20*time.Second)
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
