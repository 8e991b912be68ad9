package zookeeper_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/targettest"
	"github.com/lockstorm/lockstorm/targets/zookeeper"
)

// zkTestConn opens a session through node for checks from the test.
func zkTestConn(t *testing.T, c runtime.Cluster, node string) *zk.Conn {
	t.Helper()
	addr, err := targets.NodeAddr(c, node, 2181)
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(zkQuiet{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	deadline := time.Now().Add(30 * time.Second)
	for conn.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			t.Fatalf("no session through %s: state %s", node, conn.State())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return conn
}

type zkQuiet struct{}

func (zkQuiet) Printf(string, ...any) {}

func TestDockerZookeeperLocksExclusively(t *testing.T) {
	tg := zookeeper.New()
	c := targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: 300 * time.Millisecond})
	targettest.ServerVersion(t, tg, "zookeeper 3.8.")
	if targettest.Lease(t, tg) != 2*time.Second {
		t.Errorf("lease %s, want the negotiated 2s session timeout", targettest.Lease(t, tg))
	}
	_, t2 := targettest.ExclusiveAcrossNodes(t, tg)

	// The token is the sequence number of the holder's znode.
	holder := targettest.NewClient(t, tg, 2)
	t3 := targettest.Token(t, targettest.Acquire(t, holder, "k"))
	if t3 <= t2 {
		t.Errorf("third token %d, want more than %d", t3, t2)
	}
	conn := zkTestConn(t, c, "n1")
	children, _, err := conn.Children("/lockstorm/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != 1 || !strings.HasSuffix(children[0], "lock-"+zkTen(t3)) {
		t.Fatalf("waiters under /lockstorm/k: %v; want one ending in lock-%s", children, zkTen(t3))
	}
	targettest.Release(t, holder, "k")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leaders, err := tg.Primaries(ctx)
	if err != nil || len(leaders) != 1 {
		t.Fatalf("Primaries = %v, %v; want one leader", leaders, err)
	}
}

// zkTen formats a sequence number the way ZooKeeper names it.
func zkTen(n int64) string { return fmt.Sprintf("%010d", n) }

func TestDockerZookeeperAbandonKeepsLockUntilSessionExpires(t *testing.T) {
	tg := zookeeper.New()
	targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 3 * time.Second, Wait: 200 * time.Millisecond})
	if targettest.Lease(t, tg) != 3*time.Second {
		t.Errorf("lease %s, want the negotiated 3s session timeout", targettest.Lease(t, tg))
	}
	targettest.AbandonKeepsLock(t, tg)
}

func TestDockerZookeeperPausedHolderLosesLockAfterSession(t *testing.T) {
	tg := zookeeper.New()
	c := targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: 300 * time.Millisecond})
	targettest.PausedHolderLosesLock(t, tg, c)
}

func TestDockerZookeeperRestartedLeaderRejoins(t *testing.T) {
	tg := zookeeper.New()
	c := targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: time.Second})
	targettest.RestartLeader(t, tg, c)
}

func TestDockerZookeeperWaiterQueuesAndTimesOut(t *testing.T) {
	tg := zookeeper.New()
	c := targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: 500 * time.Millisecond})
	a, b := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 1)
	targettest.Token(t, targettest.Acquire(t, a, "q"))
	// A waiter that gives up leaves nothing in the queue.
	targettest.MustBeBusy(t, b, "q")
	conn := zkTestConn(t, c, "n3")
	children, _, err := conn.Children("/lockstorm/q")
	if err != nil || len(children) != 1 {
		t.Fatalf("waiters after a timed-out acquire: %v, %v; want only the holder", children, err)
	}
	// A waiter that is released while it waits gets the lock.
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := b.Acquire(ctx, "q")
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	targettest.Release(t, a, "q")
	if err := <-got; err != nil {
		t.Fatalf("waiter after the release: %v", err)
	}
	targettest.Release(t, b, "q")
}

func TestDockerZookeeperServerClockFollowsShim(t *testing.T) {
	tg := zookeeper.New()
	c := targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: time.Second})
	if !tg.ClockShimmed() {
		t.Fatal("ClockShimmed() = false")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const shift = 3600 * time.Second
	for _, n := range []string{"n1", "n2", "n3"} {
		if _, err := targets.Sh(ctx, c, n, runtime.ClockTool+" set 3600"); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, n := range []string{"n1", "n2", "n3"} {
			_, _ = targets.Sh(context.Background(), c, n, runtime.ClockTool+" reset")
		}
	}()
	conn := zkTestConn(t, c, "n2")
	before := time.Now()
	if _, err := conn.Create("/clock", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	_, st, err := conn.Get("/clock")
	if err != nil {
		t.Fatal(err)
	}
	ctime := time.UnixMilli(st.Ctime)
	if d := ctime.Sub(before); d < shift-time.Minute || d > shift+time.Minute {
		t.Fatalf("znode ctime %s is %s after the real time; want about %s (the shim's offset)", ctime, d, shift)
	}
	// The ensemble keeps serving with the shifted wall clock.
	a := targettest.NewClient(t, tg, 0)
	targettest.Token(t, targettest.Acquire(t, a, "clock"))
	targettest.Release(t, a, "clock")
	if err := conn.Delete("/clock", -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		t.Fatal(err)
	}
}

func TestDockerZookeeperNoFaultRunIsValid(t *testing.T) {
	targettest.NoFaultRun(t, "zookeeper", 20*time.Second)
}
