package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/redis"
	"github.com/lockstorm/lockstorm/targets/targettest"
)

func TestDockerSentinelLocksExclusively(t *testing.T) {
	tg := redis.NewSentinel()
	targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: 200 * time.Millisecond})
	targettest.ServerVersion(t, tg, "redis 7.0.")
	if !tg.HasTokens() {
		t.Fatal("redis-sentinel reports no fencing tokens")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if p, err := tg.Primaries(ctx); err != nil || len(p) != 1 || p[0] != "n1" {
		t.Fatalf("Primaries() = %v, %v; want [n1]", p, err)
	}
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)

	targettest.Exclusive(t, a, b)
	if a.Node() != "n1" || b.Node() != "n1" {
		t.Errorf("clients report nodes %s and %s, want the primary n1", a.Node(), b.Node())
	}

	c := targettest.NewClient(t, tg, 2)
	targettest.Acquire(t, c, "k")
	c.Abandon()
	targettest.MustBeBusy(t, a, "k")
	redisAcquireWithin(t, a, "k", 10*time.Second)
	targettest.Release(t, a, "k")
}

// When the primary's redis-server is frozen, the sentinels promote a
// replica, clients follow it, and the old primary comes back as a replica.
func TestDockerSentinelFailsOverToAReplica(t *testing.T) {
	tg := redis.NewSentinel()
	cl := targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := targettest.NewClient(t, tg, 0)
	before := targettest.Token(t, targettest.Acquire(t, a, "k"))
	targettest.Release(t, a, "k")

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

	b := targettest.NewClient(t, tg, 1)
	after := targettest.Token(t, redisAcquireWithin(t, b, "k", 20*time.Second))
	if after <= before {
		t.Fatalf("token on the new primary %d is not above %d (replication was in sync)", after, before)
	}
	// Clients name the primary they use, so that holder-aimed faults hit it.
	if b.Node() != primary {
		t.Errorf("a client of the new primary %s reports node %s", primary, b.Node())
	}
	targettest.Release(t, b, "k")

	thaw()
	// The old primary must not be primary again, and a client still locks.
	time.Sleep(3 * time.Second)
	if p, err := tg.Primaries(ctx); err != nil || len(p) != 1 || p[0] != primary {
		t.Fatalf("after the old primary came back: Primaries() = %v, %v; want [%s]", p, err, primary)
	}
	targettest.Acquire(t, targettest.NewClient(t, tg, 2), "k")
}

func TestDockerSentinelNoFaultRunIsValid(t *testing.T) {
	targettest.NoFaultRun(t, "redis-sentinel", 20*time.Second)
}
