package etcd_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/etcd"
	"github.com/lockstorm/lockstorm/targets/targettest"
)

func etcdEndpoint(t *testing.T, c runtime.Cluster, node string) string {
	t.Helper()
	addr, err := targets.NodeAddr(c, node, 2379)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

func TestDockerEtcdLocksExclusively(t *testing.T) {
	tg := etcd.New()
	c := targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: 300 * time.Millisecond})
	if targettest.Lease(t, tg) != 2*time.Second {
		t.Errorf("lease %s, want the 2s session TTL", targettest.Lease(t, tg))
	}
	targettest.ServerVersion(t, tg, "etcd 3.4.")
	if _, ok := targets.Service(tg).(targets.ClockShimmed); ok {
		t.Error("etcd implements ClockShimmed, but Go servers bypass the libc clock shim")
	}
	_, t2 := targettest.ExclusiveAcrossNodes(t, tg)

	// The token is the create revision of the holder's key, also when the
	// acquire had to wait in the queue: check it against etcd itself.
	first, holder := targettest.NewClient(t, tg, 0), targettest.NewClient(t, tg, 2)
	targettest.Token(t, targettest.Acquire(t, first, "k"))
	got := make(chan int64, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		g, err := holder.Acquire(ctx, "k")
		if err != nil || g.Token == nil {
			t.Errorf("queued Acquire: %+v, %v", g, err)
			got <- 0
			return
		}
		got <- *g.Token
	}()
	time.Sleep(100 * time.Millisecond)
	targettest.Release(t, first, "k")
	t3 := <-got
	if t3 <= t2 {
		t.Fatalf("queued acquire's token %d, want more than %d", t3, t2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdEndpoint(t, c, "n1")}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, "/lockstorm/k/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || resp.Kvs[0].CreateRevision != t3 {
		t.Fatalf("keys under the lock prefix: %v; want one with create revision %d", resp.Kvs, t3)
	}
	targettest.Release(t, holder, "k")

	leaders, err := tg.Primaries(ctx)
	if err != nil || len(leaders) != 1 {
		t.Fatalf("Primaries = %v, %v; want one leader", leaders, err)
	}
}

func TestDockerEtcdTryLockLocksExclusively(t *testing.T) {
	tg := etcd.New()
	targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: 300 * time.Millisecond,
		Extra: map[string]string{"etcd.acquire": "trylock"}})
	targettest.ExclusiveAcrossNodes(t, tg)
}

func TestDockerEtcdAbandonKeepsLockUntilLeaseExpires(t *testing.T) {
	tg := etcd.New()
	targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 3 * time.Second, Wait: 200 * time.Millisecond})
	targettest.AbandonKeepsLock(t, tg)
}

func TestDockerEtcdPausedHolderLosesLockAfterLease(t *testing.T) {
	tg := etcd.New()
	c := targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: 300 * time.Millisecond})
	targettest.PausedHolderLosesLock(t, tg, c)
}

func TestDockerEtcdRestartedLeaderRejoins(t *testing.T) {
	tg := etcd.New()
	c := targettest.SetUp(t, tg, 3, targettest.Settings{TTL: 2 * time.Second, Wait: time.Second})
	targettest.RestartLeader(t, tg, c)
}

// etcd grants no lease below 1.5 election timeouts, rounded up to a
// second: asked for 500 ms, it grants 2 s. The run's plan, its history and
// its page all carry the lease that etcd granted, the one the checkers
// reason with.
func TestDockerEtcdShortTTLRunRecordsTheGrantedLease(t *testing.T) {
	res, dir := targettest.RunPlan(t, "etcd", 5*time.Second, func(p *plan.Plan) { p.TTL = 500 * time.Millisecond })
	if res.Plan.TTL != 500*time.Millisecond || res.Plan.Lease != 2*time.Second {
		t.Errorf("plan: ttl %s, lease %s; want 500ms asked and 2s granted", res.Plan.TTL, res.Plan.Lease)
	}
	h, err := history.ReadFile(filepath.Join(dir, store.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	acquires := 0
	for _, op := range h {
		if op.F == history.FAcquire && op.Type == history.Invoke {
			acquires++
			if op.Lease != int64(2*time.Second) {
				t.Fatalf("an acquire records ttl %d, want the granted 2s", op.Lease)
			}
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, store.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	// The version the members reported is in the results and on the
	// page, under the command that reproduces the run.
	targettest.RanVersion(t, res, "etcd 3.4.")
	if !strings.Contains(string(page), "ran "+res.ServerVersion+", as the server reported") {
		t.Errorf("the page does not say that %s ran", res.ServerVersion)
	}
	if acquires == 0 || !strings.Contains(string(page), "<tr><th>lease granted</th><td>2s</td></tr>") ||
		!strings.Contains(string(page), "<tr><th>ttl asked</th><td>500ms</td></tr>") {
		t.Errorf("%d acquires; the page does not show the 2s lease next to the 500ms asked", acquires)
	}
}

func TestDockerEtcdNoFaultRunIsValid(t *testing.T) {
	targettest.NoFaultRun(t, "etcd", 20*time.Second)
}

func TestDockerEtcdLockAPINoFaultRunIsValid(t *testing.T) {
	targettest.RanVersion(t, targettest.NoFaultRun(t, "etcd-lockapi", 20*time.Second), "etcd 3.4.")
}

func TestDockerEtcdElectionNoFaultRunIsValid(t *testing.T) {
	targettest.NoFaultRun(t, "etcd-election", 20*time.Second)
}
