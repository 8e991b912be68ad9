package targets_test

import (
	"context"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/targets"
)

func TestDockerSentinelLocksExclusively(t *testing.T) {
	tg := targets.NewSentinel()
	redisSetUp(t, tg, 3, targets.Options{TTL: 2 * time.Second, Wait: 200 * time.Millisecond})
	if !tg.HasTokens() {
		t.Fatal("redis-sentinel reports no fencing tokens")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if p, err := tg.Primaries(ctx); err != nil || len(p) != 1 || p[0] != "n1" {
		t.Fatalf("Primaries() = %v, %v; want [n1]", p, err)
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

	c := redisClient(t, tg, 2)
	redisAcquire(t, c, "k")
	c.Abandon()
	redisMustBeBusy(t, a, "k")
	redisAcquireWithin(t, a, "k", 10*time.Second)
	redisRelease(t, a, "k")
}

// When the primary's redis-server is frozen, the sentinels promote a
// replica, clients follow it, and the old primary comes back as a replica.
func TestDockerSentinelFailsOverToAReplica(t *testing.T) {
	tg := targets.NewSentinel()
	cl := redisSetUp(t, tg, 3, targets.Options{TTL: 2 * time.Second, Wait: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := redisClient(t, tg, 0)
	before := redisToken(t, redisAcquire(t, a, "k"))
	redisRelease(t, a, "k")

	pids, err := targets.ServerPIDs(ctx, cl, "n1", tg.ServerProcess("n1"))
	if err != nil || len(pids) != 1 {
		t.Fatalf("redis-server PIDs on n1: %v %v", pids, err)
	}
	redisExec(t, cl, "n1", "kill -STOP "+pids[0])
	thawed := false
	thaw := func() {
		if !thawed {
			redisExec(t, cl, "n1", "kill -CONT "+pids[0])
			thawed = true
		}
	}
	defer thaw()

	var primary string
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, err := tg.Primaries(ctx)
		if err == nil && len(p) == 1 && p[0] != "n1" {
			primary = p[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failover within 60 s: Primaries() = %v, %v", p, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("sentinels promoted %s", primary)

	b := redisClient(t, tg, 1)
	after := redisToken(t, redisAcquireWithin(t, b, "k", 20*time.Second))
	if after <= before {
		t.Fatalf("token on the new primary %d is not above %d (replication was in sync)", after, before)
	}
	redisRelease(t, b, "k")

	thaw()
	// The old primary must not be primary again, and a client still locks.
	time.Sleep(3 * time.Second)
	if p, err := tg.Primaries(ctx); err != nil || len(p) != 1 || p[0] != primary {
		t.Fatalf("after the old primary came back: Primaries() = %v, %v; want [%s]", p, err, primary)
	}
	redisAcquire(t, redisClient(t, tg, 2), "k")
}

func TestDockerSentinelNoFaultRunIsValid(t *testing.T) {
	redisNoFaultRun(t, "redis-sentinel")
}
