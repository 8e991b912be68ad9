package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/postgres"
	"github.com/lockstorm/lockstorm/targets/targettest"
)

func TestDockerRowLocksExclusively(t *testing.T) {
	tg := postgres.NewRow()
	targettest.SetUp(t, tg, 1, targettest.Settings{TTL: time.Second, Wait: 300 * time.Millisecond})
	targettest.ServerVersion(t, tg, "postgresql 15.")
	if targettest.Lease(t, tg) != 0 || !tg.HasTokens() {
		t.Fatalf("Lease %s, HasTokens %v; want 0 and true", targettest.Lease(t, tg), tg.HasTokens())
	}
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)
	_, t2 := targettest.Exclusive(t, a, b)
	t3 := targettest.Token(t, targettest.Acquire(t, a, "k"))
	if t3 <= t2 {
		t.Fatalf("third grant's token %d is not above the second's %d", t3, t2)
	}
	targettest.Release(t, a, "k")
}

func TestDockerRowStaysLockedAfterCrash(t *testing.T) {
	tg := postgres.NewRow()
	targettest.SetUp(t, tg, 1, targettest.Settings{TTL: time.Second, Wait: 3 * time.Second})
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)
	targettest.Acquire(t, a, "k")
	a.Abandon()
	// Three seconds of retries, three times the TTL asked for: the naive
	// row lock has no expiry, so it stays held.
	targettest.MustBeBusy(t, b, "k")
	targettest.MustNotBeHeld(t, b, "k")
}

func TestDockerRowSurvivesServerKill(t *testing.T) {
	tg := postgres.NewRow()
	c := targettest.SetUp(t, tg, 1, targettest.Settings{TTL: time.Second, Wait: 300 * time.Millisecond})
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)
	t1 := targettest.Token(t, targettest.Acquire(t, a, "k"))
	pgKillServer(t, c, tg)
	// The committed row lock and its counter are durable.
	targettest.MustBeBusy(t, b, "k")
	// The holder's connection died with the server; its next call finds
	// out, and a new connection still releases (the row names the owner).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Release(ctx, "k"); err != nil {
		if errors.Is(err, targets.ErrNotHeld) {
			t.Fatalf("Release after the kill: %v", err)
		}
		t.Logf("first release after the kill is indeterminate: %v", err)
		targettest.Release(t, a, "k")
	}
	t2 := targettest.Token(t, targettest.Acquire(t, b, "k"))
	if t2 <= t1 {
		t.Fatalf("token %d after the restart is not above %d", t2, t1)
	}
	targettest.Release(t, b, "k")
}

func TestDockerAdvisoryLostOnServerKill(t *testing.T) {
	tg := postgres.NewAdvisory()
	c := targettest.SetUp(t, tg, 1, targettest.Settings{TTL: time.Second, Wait: 300 * time.Millisecond})
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)
	targettest.Acquire(t, a, "k")
	pgKillServer(t, c, tg)
	// The lock died with the holder's session; nobody told the holder.
	targettest.Acquire(t, b, "k")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := a.Release(ctx, "k")
	if err == nil || errors.Is(err, targets.ErrNotHeld) {
		t.Fatalf("holder's Release after the kill: %v; want an indeterminate error", err)
	}
	targettest.Release(t, b, "k")
}

func TestDockerRowExpiryFreesAfterTTL(t *testing.T) {
	const ttl = 1500 * time.Millisecond
	tg := postgres.NewRowExpiry()
	targettest.SetUp(t, tg, 1, targettest.Settings{TTL: ttl, Wait: 300 * time.Millisecond})
	if targettest.Lease(t, tg) != ttl || !tg.HasTokens() {
		t.Fatalf("Lease %s, HasTokens %v; want %s and true", targettest.Lease(t, tg), tg.HasTokens(), ttl)
	}
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)
	start := time.Now()
	t1 := targettest.Token(t, targettest.Acquire(t, a, "k"))
	a.Abandon()
	targettest.MustBeBusy(t, b, "k")
	var t2 int64
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		g, err := b.Acquire(ctx, "k")
		cancel()
		if err == nil {
			t2 = targettest.Token(t, g)
			break
		}
		if !errors.Is(err, targets.ErrNotAcquired) || time.Since(start) > 10*time.Second {
			t.Fatalf("Acquire after the holder's crash: %v", err)
		}
	}
	if took := time.Since(start); took < ttl {
		t.Fatalf("lock came free after %s, before its TTL of %s", took, ttl)
	}
	if t2 <= t1 {
		t.Fatalf("token %d after expiry is not above %d", t2, t1)
	}
	// The crashed holder's owner name no longer holds the row.
	targettest.Release(t, b, "k")
	targettest.MustNotBeHeld(t, b, "k")
}

// TestDockerRowClientCrashIsStuck checks the chapter's claim end to
// end: a naive row lock whose holder crashes stays locked forever, and the
// final liveness probe says so.
func TestDockerRowClientCrashIsStuck(t *testing.T) {
	res := targettest.RunHarness(t, "postgres-row", 15*time.Second, []string{"client-crash"}, 5*time.Second)
	if res.Status != checker.Invalid {
		t.Fatalf("postgres-row under client-crash is %s; want invalid\n%s", res.Status, targettest.Anomalies(res))
	}
	for _, r := range res.Results {
		if r.Checker != "liveness" {
			continue
		}
		for _, a := range r.Anomalies {
			if a.Kind == checker.KindStuckLock {
				t.Logf("liveness: %s", a.Explanation)
				return
			}
		}
		t.Fatalf("liveness checker found no stuck lock: %s: %s\n%s", r.Status, r.Summary, targettest.Anomalies(res))
	}
	t.Fatalf("no liveness result; results:\n%s", targettest.Anomalies(res))
}
