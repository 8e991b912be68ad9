package targets_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
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
	tg := targets.NewRedis()
	setUp(t, tg, 1, settings{TTL: 2 * time.Second, Wait: 200 * time.Millisecond})
	if !tg.HasTokens() {
		t.Fatal("redis reports no fencing tokens")
	}
	if leaseOf(t, tg) != 2*time.Second {
		t.Fatalf("lease %s, want the 2s TTL", leaseOf(t, tg))
	}
	a, b := newClient(t, tg, 0), newClient(t, tg, 1)

	exclusive(t, a, b)

	// A crashed holder keeps the lock until its TTL runs out.
	c := newClient(t, tg, 2)
	t3 := token(t, acquire(t, c, "k"))
	c.Abandon()
	mustBeBusy(t, a, "k")
	t4 := token(t, redisAcquireWithin(t, a, "k", 10*time.Second))
	if t4 <= t3 {
		t.Fatalf("token after expiry %d is not above the abandoned holder's %d", t4, t3)
	}
	release(t, a, "k")
}

func TestDockerRedisClockBumpExpiresLockEarly(t *testing.T) {
	tg := targets.NewRedis()
	cl := setUp(t, tg, 1, settings{TTL: 10 * time.Second, Wait: 500 * time.Millisecond})
	t.Cleanup(func() {
		_, _ = targets.Sh(context.Background(), cl, "n1", "/usr/local/bin/lockstorm-clock reset")
	})
	a, b := newClient(t, tg, 0), newClient(t, tg, 1)
	acquire(t, a, "k")
	mustBeBusy(t, b, "k")
	// Redis compares the key's PX deadline with its (shimmed) wall clock:
	// a minute later, the 10-s lease has run out on the server.
	redisExec(t, cl, "n1", "/usr/local/bin/lockstorm-clock set 60")
	acquire(t, b, "k")
	mustNotBeHeld(t, a, "k")
	redisExec(t, cl, "n1", "/usr/local/bin/lockstorm-clock reset")
	release(t, b, "k")
}

func TestDockerRedisRestartWithoutPersistenceForgetsLocks(t *testing.T) {
	tg := targets.NewRedis()
	cl := setUp(t, tg, 1, settings{TTL: 30 * time.Second, Wait: 200 * time.Millisecond})
	a, b := newClient(t, tg, 0), newClient(t, tg, 1)
	acquire(t, a, "k")
	acquire(t, a, "k2")
	release(t, a, "k2")
	before := token(t, acquire(t, a, "k2"))
	mustBeBusy(t, b, "k")

	redisKillServer(t, cl, "n1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tg.StartServer(ctx, "n1"); err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	// The 30-s lease is gone with the data, and so is the fencing counter.
	// (A fresh client: the old ones' connections died with the server.)
	c := newClient(t, tg, 2)
	after := token(t, acquire(t, c, "k2"))
	if after >= before {
		t.Fatalf("token after a restart without persistence is %d, want it to start over below %d", after, before)
	}
	acquire(t, c, "k")
}

func TestDockerRedisNoFaultRunIsValid(t *testing.T) {
	noFaultRun(t, "redis", 20*time.Second)
}

// The Go binding in the harness's process, the client of lockstorm's
// earlier versions, is still there for speed: the same run is valid.
func TestDockerRedisNoFaultRunWithGoClientsIsValid(t *testing.T) {
	noFaultRunWith(t, "redis", plan.ClientGo, 20*time.Second)
}
