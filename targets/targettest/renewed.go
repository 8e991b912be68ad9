package targettest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
)

// The scenarios of the services whose clients renew their lease (etcd's
// sessions, ZooKeeper's): a lock that outlives a crashed holder for a
// lease, a frozen holder's server that loses the lock, a killed leader
// that serves again.

// ExclusiveAcrossNodes is the common scenario: one client holds the lock, a
// client of another node is refused, a release lets it in with a larger token,
// and a release of a lock not held is a definite ErrNotHeld. It returns the
// two tokens.
func ExclusiveAcrossNodes(t *testing.T, tg targets.Service) (int64, int64) {
	t.Helper()
	a, b := NewClient(t, tg, 0), NewClient(t, tg, 1)
	if a.Node() == b.Node() {
		t.Fatalf("processes 0 and 1 share node %s; want different nodes", a.Node())
	}
	return Exclusive(t, a, b)
}

// AbandonKeepsLock checks that a crashed holder's lock stays taken for
// a good part of the lease and comes free by the lease plus slack. The
// lease counts from the holder's last renewal, which background
// keepalives make at least every third of the lease.
func AbandonKeepsLock(t *testing.T, tg targets.Service) {
	t.Helper()
	lease := Lease(t, tg)
	a, b := NewClient(t, tg, 0), NewClient(t, tg, 1)
	Token(t, Acquire(t, a, "crash"))
	a.Abandon()
	crashed := time.Now()
	MustBeBusy(t, b, "crash")
	time.Sleep(time.Until(crashed.Add(lease / 3)))
	MustBeBusy(t, b, "crash")
	if held := time.Since(crashed); held < lease/3 {
		t.Fatalf("busy check ended only %s after the crash", held)
	}
	limit := crashed.Add(lease + 10*time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := b.Acquire(ctx, "crash")
		cancel()
		if err == nil {
			t.Logf("%s: abandoned lock (lease %s) free again %s after the crash", tg.Name(), lease, time.Since(crashed).Round(time.Millisecond))
			Release(t, b, "crash")
			return
		}
		if !errors.Is(err, targets.ErrNotAcquired) {
			t.Fatalf("Acquire after the crash: %v", err)
		}
		if time.Now().After(limit) {
			t.Fatalf("abandoned lock still held %s after the crash (lease %s)", time.Since(crashed), lease)
		}
	}
}

// PausedHolderLosesLock freezes the server that a lock holder's client
// talks to, for longer than the lease: a client of another server must get
// the lock while the old holder is cut off (but not before a good part of
// the lease has passed), and the old holder's release must not succeed
// after the thaw. This is the setting in which both clients believe they
// hold the lock.
func PausedHolderLosesLock(t *testing.T, tg targets.Service, c runtime.Cluster) {
	t.Helper()
	lease := Lease(t, tg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := NewClient(t, tg, 0)
	Token(t, Acquire(t, a, "pause"))
	if err := c.Pause(ctx, a.Node()); err != nil {
		t.Fatalf("pause %s: %v", a.Node(), err)
	}
	paused := time.Now()
	thawed := false
	defer func() {
		if !thawed {
			_ = c.Unpause(context.Background(), a.Node())
		}
	}()
	b := NewClient(t, tg, 1)
	limit := paused.Add(lease + 30*time.Second)
	for {
		actx, acancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := b.Acquire(actx, "pause")
		acancel()
		if err == nil {
			break
		}
		if !errors.Is(err, targets.ErrNotAcquired) {
			// Indeterminate (a failover under way): carry on with a
			// fresh client, as the workload does.
			t.Logf("acquire through %s during the pause: %v", b.Node(), err)
			b = NewClient(t, tg, 1)
		}
		if time.Now().After(limit) {
			t.Fatalf("no client got the lock %s after the holder's server froze (lease %s)", time.Since(paused), lease)
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(paused)
	t.Logf("%s: lock of the frozen %s's client granted through %s %s after the freeze (lease %s)",
		tg.Name(), a.Node(), b.Node(), took.Round(time.Millisecond), lease)
	if took < lease/2 {
		t.Errorf("lock granted again %s after the freeze, before half the %s lease", took, lease)
	}
	if err := c.Unpause(ctx, a.Node()); err != nil {
		t.Fatalf("unpause %s: %v", a.Node(), err)
	}
	thawed = true
	rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
	err := a.Release(rctx, "pause")
	rcancel()
	if err == nil {
		t.Fatalf("the old holder's release succeeded while %s holds the lock", b.Node())
	}
	t.Logf("%s: old holder's release after the thaw: %v (definite: %v)", tg.Name(), err, errors.Is(err, targets.ErrNotHeld))
	Release(t, b, "pause")
}

// RestartLeader kills the leader's server process with SIGKILL, as the
// kill nemesis does, starts it again with StartServer, and checks that a
// client of that node can lock and unlock.
func RestartLeader(t *testing.T, tg interface {
	targets.Service
	targets.Servers
	targets.Primaries
}, c runtime.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	leaders, err := tg.Primaries(ctx)
	if err != nil || len(leaders) != 1 {
		t.Fatalf("Primaries = %v, %v; want one leader", leaders, err)
	}
	victim := leaders[0]
	pids, err := targets.ServerPIDs(ctx, c, victim, tg.ServerProcess(victim))
	if err != nil || len(pids) != 1 {
		t.Fatalf("%s processes on %s: %v, %v; want one", tg.ServerProcess(victim), victim, pids, err)
	}
	if _, err := targets.Sh(ctx, c, victim, "kill -9 "+pids[0]); err != nil {
		t.Fatalf("kill the server on %s: %v", victim, err)
	}
	start := time.Now()
	if err := tg.StartServer(ctx, victim); err != nil {
		t.Fatalf("StartServer(%s): %v", victim, err)
	}
	t.Logf("%s: killed leader %s serves again %s after StartServer", tg.Name(), victim, time.Since(start).Round(time.Millisecond))
	for p := 0; p < 9; p++ {
		cl := NewClient(t, tg, p)
		if cl.Node() != victim {
			continue
		}
		Token(t, Acquire(t, cl, "after-restart"))
		Release(t, cl, "after-restart")
		return
	}
	t.Fatalf("no client of %s among processes 0..8", victim)
}
