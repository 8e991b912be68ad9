// Package targettest holds the fixtures that the Docker tests of every
// lock service share, as net/http/httptest does for HTTP: a real cluster
// from the node image with a service set up on it (SetUp), clients of its
// Go binding (NewClient) and the usual lock scenarios (Exclusive), and
// whole harness runs with lockstorm's client processes (RunPlan). It is a
// package of test helpers: it imports testing, and only tests import it.
package targettest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/runtime/docker"
	"github.com/lockstorm/lockstorm/targets"
)

// Settings are what a target test asks of a service: the lease, the
// wait budget and the options.
type Settings struct {
	TTL, Wait time.Duration
	Extra     option.Values
}

// plans keeps the plan each service of a test was set up with, so that
// NewClient can give its clients the same facts a run gives them.
var (
	plansMu sync.Mutex
	plans   = map[targets.Service]*plan.Plan{}
)

// SetUp starts n nodes of the node image, sets tg up on them with s, and
// removes everything when the test ends. It skips t without Docker.
func SetUp(t *testing.T, tg targets.Service, n int, s Settings) runtime.Cluster {
	t.Helper()
	d := testdocker.Runtime(t, docker.New)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := &plan.Plan{Target: tg.Name(), TTL: s.TTL, Wait: s.Wait, Options: s.Extra, Keys: 1}
	if p.Options == nil {
		p.Options = option.Values{}
	}
	for i := 1; i <= n; i++ {
		p.Nodes = append(p.Nodes, plan.Node{Name: runtime.NodeName(i), Ports: tg.Describe().Ports})
	}
	var err error
	if p.Lease, err = tg.Prepare(p); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	start := time.Now()
	c := testdocker.Start(t, d, runtime.Spec{
		RunID:  testdocker.ID(tg.Name() + "test"),
		Nodes:  n,
		Labels: map[string]string{testdocker.Label: "targets-" + tg.Name()},
	})
	up := time.Since(start)
	for i, ni := range c.Nodes() {
		p.Nodes[i].IP = ni.IP
	}
	start = time.Now()
	if p.Lease, err = tg.Setup(ctx, &targets.Env{Cluster: c, Plan: p}); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Logf("%s: %d nodes up in %s, set up in %s, lease %s", tg.Name(), n, up.Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond), p.Lease)
	plansMu.Lock()
	plans[tg] = p
	plansMu.Unlock()
	t.Cleanup(func() {
		_ = tg.Teardown(context.Background())
		plansMu.Lock()
		delete(plans, tg)
		plansMu.Unlock()
	})
	return c
}

// Plan returns the plan tg was set up with by SetUp: its nodes with their
// addresses, the lease its servers granted, the wait and the options.
func Plan(t *testing.T, tg targets.Service) *plan.Plan {
	t.Helper()
	plansMu.Lock()
	pl := plans[tg]
	plansMu.Unlock()
	if pl == nil {
		t.Fatalf("%s was not set up", tg.Name())
	}
	return pl
}

// Lease returns the lease that tg's servers granted in SetUp.
func Lease(t *testing.T, tg targets.Service) time.Duration {
	t.Helper()
	return Plan(t, tg).Lease
}

// NewClient returns a client of tg's Go binding for process p, on the node
// a run would assign it, closed when the test ends.
func NewClient(t *testing.T, tg targets.Service, p int) targets.Client {
	t.Helper()
	pl := Plan(t, tg)
	c, err := tg.Binding().NewClient(context.Background(), targets.ClientEnv{Plan: pl, Process: p, Node: pl.NodeFor(p)})
	if err != nil {
		t.Fatalf("NewClient(%d): %v", p, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Acquire takes key with c, failing t unless it is granted.
func Acquire(t *testing.T, c targets.Client, key string) targets.Grant {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := c.Acquire(ctx, key)
	if err != nil {
		t.Fatalf("Acquire(%s) by the client on %s: %v", key, c.Node(), err)
	}
	return g
}

// MustBeBusy fails t unless c is certainly refused key (ErrNotAcquired).
func MustBeBusy(t *testing.T, c targets.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := c.Acquire(ctx, key)
	if !errors.Is(err, targets.ErrNotAcquired) {
		t.Fatalf("Acquire(%s) while held: got grant %+v, err %v; want ErrNotAcquired", key, g, err)
	}
}

// Release gives key back with c, failing t unless it is released.
func Release(t *testing.T, c targets.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Release(ctx, key); err != nil {
		t.Fatalf("Release(%s): %v", key, err)
	}
}

// MustNotBeHeld fails t unless releasing key with c is a certain
// ErrNotHeld.
func MustNotBeHeld(t *testing.T, c targets.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Release(ctx, key); !errors.Is(err, targets.ErrNotHeld) {
		t.Fatalf("Release(%s) of a lock not held: %v; want ErrNotHeld", key, err)
	}
}

// Token returns g's fencing token, failing t when it has none.
func Token(t *testing.T, g targets.Grant) int64 {
	t.Helper()
	if g.Token == nil {
		t.Fatalf("grant without a fencing token")
	}
	return *g.Token
}

// Exclusive is the scenario every target with fencing tokens passes: a
// holds the lock and b is refused; b cannot release what it does not hold;
// once a releases, b gets the lock with a larger token and a is refused;
// once b releases, a second release by b is a certain ErrNotHeld. It
// returns the two tokens.
func Exclusive(t *testing.T, a, b targets.Client) (int64, int64) {
	t.Helper()
	t1 := Token(t, Acquire(t, a, "k"))
	MustBeBusy(t, b, "k")
	MustNotBeHeld(t, b, "k")
	Release(t, a, "k")
	t2 := Token(t, Acquire(t, b, "k"))
	if t2 <= t1 {
		t.Fatalf("second grant's token %d is not above the first's %d", t2, t1)
	}
	MustBeBusy(t, a, "k")
	Release(t, b, "k")
	MustNotBeHeld(t, b, "k")
	return t1, t2
}
