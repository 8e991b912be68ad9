package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/redis"
	"github.com/lockstorm/lockstorm/targets/targettest"
)

func TestDockerRedlockLocksExclusively(t *testing.T) {
	tg := redis.NewRedlock()
	targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: 300 * time.Millisecond})
	targettest.ServerVersion(t, tg, "redis 7.0.")
	if tg.HasTokens() {
		t.Fatal("redlock claims fencing tokens; Redlock has none")
	}
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)
	if a.Node() == b.Node() {
		t.Fatalf("clients 0 and 1 share home node %s; want them spread", a.Node())
	}

	if g := targettest.Acquire(t, a, "k"); g.Token != nil {
		t.Fatalf("redlock grant carries token %d", *g.Token)
	}
	targettest.MustBeBusy(t, b, "k")
	targettest.MustNotBeHeld(t, b, "k")
	targettest.Release(t, a, "k")
	targettest.Acquire(t, b, "k")
	targettest.MustBeBusy(t, a, "k")
	targettest.Release(t, b, "k")
	targettest.MustNotBeHeld(t, b, "k")

	// A crashed holder keeps the lock until its TTL runs out.
	c := targettest.NewClient(t, tg, 2)
	targettest.Acquire(t, c, "k")
	c.Abandon()
	targettest.MustBeBusy(t, a, "k")
	redisAcquireWithin(t, a, "k", 10*time.Second)
	targettest.Release(t, a, "k")
}

// With one of three nodes down, a majority still grants and refuses the
// lock for certain: a refused connection proves the SET was never sent.
// A paused node leaves its SET unknown, which matters only where it could
// complete a quorum.
func TestDockerRedlockMinorityDownStillDecides(t *testing.T) {
	tg := redis.NewRedlock()
	cl := targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: 300 * time.Millisecond})
	redisKillServer(t, cl, "n3")
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)
	targettest.Acquire(t, a, "k")
	targettest.MustBeBusy(t, b, "k")
	targettest.Release(t, a, "k")

	// n1 says "taken", n2 (paused) says nothing, n3 refuses connections:
	// a quorum of two is out of reach, so the failure is certain.
	targettest.Acquire(t, a, "k")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.Pause(ctx, "n2"); err != nil {
		t.Fatalf("pause n2: %v", err)
	}
	t.Cleanup(func() { _ = cl.Unpause(context.Background(), "n2") })
	targettest.MustBeBusy(t, targettest.NewClient(t, tg, 3), "k")

	// The holder's release deletes its value on n1, but n2 may or may not
	// delete it too: whether a quorum released is unknown.
	rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer rcancel()
	err := a.Release(rctx, "k")
	if err == nil || errors.Is(err, targets.ErrNotHeld) {
		t.Fatalf("Release with n2 paused and n3 down: %v; want an indeterminate error", err)
	}

	// Healed, the lock comes free at the latest when the TTL runs out.
	if err := cl.Unpause(ctx, "n2"); err != nil {
		t.Fatalf("unpause n2: %v", err)
	}
	if err := tg.StartServer(ctx, "n3"); err != nil {
		t.Fatalf("StartServer(n3): %v", err)
	}
	c := targettest.NewClient(t, tg, 4)
	redisAcquireWithin(t, c, "k", 10*time.Second)
	targettest.Release(t, c, "k")
}

func TestDockerRedlockNoFaultRunIsValid(t *testing.T) {
	targettest.NoFaultRun(t, "redlock", 20*time.Second)
}
