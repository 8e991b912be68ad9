package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/redis"
	"github.com/lockstorm/lockstorm/targets/targettest"
)

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

func TestDockerRedisLocksExclusively(t *testing.T) {
	tg := redis.New()
	targettest.SetUp(t, tg, 1, targettest.Settings{TTL: 2 * time.Second, Wait: 200 * time.Millisecond})
	targettest.ServerVersion(t, tg, "redis 7.0.")
	if !tg.HasTokens() {
		t.Fatal("redis reports no fencing tokens")
	}
	if targettest.Lease(t, tg) != 2*time.Second {
		t.Fatalf("lease %s, want the 2s TTL", targettest.Lease(t, tg))
	}
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)

	targettest.Exclusive(t, a, b)

	// A crashed holder keeps the lock until its TTL runs out.
	c := targettest.NewClient(t, tg, 2)
	t3 := targettest.Token(t, targettest.Acquire(t, c, "k"))
	c.Abandon()
	targettest.MustBeBusy(t, a, "k")
	t4 := targettest.Token(t, redisAcquireWithin(t, a, "k", 10*time.Second))
	if t4 <= t3 {
		t.Fatalf("token after expiry %d is not above the abandoned holder's %d", t4, t3)
	}
	targettest.Release(t, a, "k")
}

func TestDockerRedisClockBumpExpiresLockEarly(t *testing.T) {
	tg := redis.New()
	cl := targettest.SetUp(t, tg, 1, targettest.Settings{TTL: 10 * time.Second, Wait: 500 * time.Millisecond})
	t.Cleanup(func() {
		_, _ = targets.Sh(context.Background(), cl, "n1", "/usr/local/bin/lockstorm-clock reset")
	})
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)
	targettest.Acquire(t, a, "k")
	targettest.MustBeBusy(t, b, "k")
	// Redis compares the key's PX deadline with its (shimmed) wall clock:
	// a minute later, the 10-s lease has run out on the server.
	redisExec(t, cl, "n1", "/usr/local/bin/lockstorm-clock set 60")
	targettest.Acquire(t, b, "k")
	targettest.MustNotBeHeld(t, a, "k")
	redisExec(t, cl, "n1", "/usr/local/bin/lockstorm-clock reset")
	targettest.Release(t, b, "k")
}

func TestDockerRedisRestartWithoutPersistenceForgetsLocks(t *testing.T) {
	tg := redis.New()
	cl := targettest.SetUp(t, tg, 1, targettest.Settings{TTL: 30 * time.Second, Wait: 200 * time.Millisecond})
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)
	targettest.Acquire(t, a, "k")
	targettest.Acquire(t, a, "k2")
	targettest.Release(t, a, "k2")
	before := targettest.Token(t, targettest.Acquire(t, a, "k2"))
	targettest.MustBeBusy(t, b, "k")

	redisKillServer(t, cl, "n1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tg.StartServer(ctx, "n1"); err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	// The 30-s lease is gone with the data, and so is the fencing counter.
	// (A fresh client: the old ones' connections died with the server.)
	c := targettest.NewClient(t, tg, 2)
	after := targettest.Token(t, targettest.Acquire(t, c, "k2"))
	if after >= before {
		t.Fatalf("token after a restart without persistence is %d, want it to start over below %d", after, before)
	}
	targettest.Acquire(t, c, "k")
}

func TestDockerRedisNoFaultRunIsValid(t *testing.T) {
	targettest.NoFaultRun(t, "redis", 20*time.Second)
}

// The Go binding in the harness's process, the client of lockstorm's
// earlier versions, is still there for speed: the same run is valid.
func TestDockerRedisNoFaultRunWithGoClientsIsValid(t *testing.T) {
	targettest.NoFaultRunWith(t, "redis", plan.ClientGo, 20*time.Second)
}
