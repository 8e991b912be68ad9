package targets_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/internal/keepfailed"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/runtime/docker"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/all"
)

// The fixtures that every target's Docker tests share: a real cluster from
// the node image, a target set up on it, clients, and whole harness runs.

// testLabel marks the containers of the target tests, so that a test can
// count exactly its own leftovers.
const testLabel = "lockstorm.test"

func skipWithoutDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping Docker test in -short mode")
	}
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat("/var/run/docker.sock"); errors.Is(err, os.ErrNotExist) {
			t.Skip("skipping: Docker socket /var/run/docker.sock is absent and DOCKER_HOST is unset")
		}
	}
}

func randomID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// settings are what a target test asks of a service: the lease, the
// wait budget and the options.
type settings struct {
	TTL, Wait time.Duration
	Extra     option.Values
}

// plans keeps the plan each service of a test was set up with, so that
// newClient can give its clients the same facts a run gives them.
var (
	plansMu sync.Mutex
	plans   = map[targets.Service]*plan.Plan{}
)

// setUp starts n nodes, sets tg up on them with s, and removes everything
// when the test ends.
func setUp(t *testing.T, tg targets.Service, n int, s settings) runtime.Cluster {
	t.Helper()
	skipWithoutDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := docker.New(ctx, nil)
	if err != nil {
		t.Fatalf("docker: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	p := &plan.Plan{Target: tg.Name(), TTL: s.TTL, Wait: s.Wait, Options: s.Extra, Keys: 1}
	if p.Options == nil {
		p.Options = option.Values{}
	}
	for i := 1; i <= n; i++ {
		p.Nodes = append(p.Nodes, plan.Node{Name: runtime.NodeName(i), Ports: tg.Describe().Ports})
	}
	if p.Lease, err = tg.Prepare(p); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	start := time.Now()
	c, err := d.Start(ctx, runtime.Spec{
		RunID:  tg.Name() + "test-" + randomID(),
		Nodes:  n,
		Labels: map[string]string{testLabel: "targets-" + tg.Name()},
	})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Teardown(context.Background()); err != nil {
			t.Errorf("teardown: %v", err)
		}
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

// leaseOf returns the lease that tg's servers granted in setUp.
func leaseOf(t *testing.T, tg targets.Service) time.Duration {
	t.Helper()
	plansMu.Lock()
	pl := plans[tg]
	plansMu.Unlock()
	if pl == nil {
		t.Fatalf("leaseOf: %s was not set up", tg.Name())
	}
	return pl.Lease
}

// newClient returns a client of tg's Go binding for process p, on the node
// a run would assign it, closed when the test ends.
func newClient(t *testing.T, tg targets.Service, p int) targets.Client {
	t.Helper()
	plansMu.Lock()
	pl := plans[tg]
	plansMu.Unlock()
	if pl == nil {
		t.Fatalf("newClient: %s was not set up", tg.Name())
	}
	c, err := tg.Binding().NewClient(context.Background(), targets.ClientEnv{Plan: pl, Process: p, Node: pl.NodeFor(p)})
	if err != nil {
		t.Fatalf("NewClient(%d): %v", p, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func acquire(t *testing.T, c targets.Client, key string) targets.Grant {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := c.Acquire(ctx, key)
	if err != nil {
		t.Fatalf("Acquire(%s) by the client on %s: %v", key, c.Node(), err)
	}
	return g
}

func mustBeBusy(t *testing.T, c targets.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := c.Acquire(ctx, key)
	if !errors.Is(err, targets.ErrNotAcquired) {
		t.Fatalf("Acquire(%s) while held: got grant %+v, err %v; want ErrNotAcquired", key, g, err)
	}
}

func release(t *testing.T, c targets.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Release(ctx, key); err != nil {
		t.Fatalf("Release(%s): %v", key, err)
	}
}

func mustNotBeHeld(t *testing.T, c targets.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Release(ctx, key); !errors.Is(err, targets.ErrNotHeld) {
		t.Fatalf("Release(%s) of a lock not held: %v; want ErrNotHeld", key, err)
	}
}

func token(t *testing.T, g targets.Grant) int64 {
	t.Helper()
	if g.Token == nil {
		t.Fatalf("grant without a fencing token")
	}
	return *g.Token
}

// exclusive is the scenario every target with fencing tokens passes: a
// holds the lock and b is refused; b cannot release what it does not hold;
// once a releases, b gets the lock with a larger token and a is refused;
// once b releases, a second release by b is a certain ErrNotHeld. It
// returns the two tokens.
func exclusive(t *testing.T, a, b targets.Client) (int64, int64) {
	t.Helper()
	t1 := token(t, acquire(t, a, "k"))
	mustBeBusy(t, b, "k")
	mustNotBeHeld(t, b, "k")
	release(t, a, "k")
	t2 := token(t, acquire(t, b, "k"))
	if t2 <= t1 {
		t.Fatalf("second grant's token %d is not above the first's %d", t2, t1)
	}
	mustBeBusy(t, a, "k")
	release(t, b, "k")
	mustNotBeHeld(t, b, "k")
	return t1, t2
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// clientBinary builds lockstorm once for the package's tests: the runs'
// client processes are `lockstorm client` in the client containers.
func clientBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lockstorm-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "lockstorm")
		build := exec.Command("go", "build", "-o", binPath, "../cmd/lockstorm")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build lockstorm: %v", buildErr)
	}
	return binPath
}

// runHarness runs the mutex workload through the harness on target, with
// the given nemeses and lockstorm's client processes, and checks that the
// run leaves no container behind.
func runHarness(t *testing.T, target string, limit time.Duration, nemeses []string, interval time.Duration) store.RunResult {
	return runHarnessWith(t, target, "", limit, nemeses, interval)
}

// runHarnessWith is runHarness with the client of the plan ("" for the
// default, plan.ClientGo for the Go binding in the harness).
func runHarnessWith(t *testing.T, target, client string, limit time.Duration, nemeses []string, interval time.Duration) store.RunResult {
	t.Helper()
	res, _ := runPlan(t, target, limit, func(p *plan.Plan) {
		p.Client, p.Nemeses = client, nemeses
		if interval > 0 {
			p.NemesisInterval = interval
		}
	})
	return res
}

// runPlan runs target through the harness for limit with the plan that
// change makes of the defaults, and returns the result and the run's
// directory.
func runPlan(t *testing.T, target string, limit time.Duration, change func(*plan.Plan)) (store.RunResult, string) {
	t.Helper()
	skipWithoutDocker(t)
	all.Register() // the harness looks the target up by name, as cli.Main has it
	cfg := harness.DefaultConfig()
	cfg.Plan.Target, cfg.Plan.TimeLimit = target, limit
	change(&cfg.Plan)
	cfg.ClientBinary = clientBinary(t)
	cfg.StoreDir = t.TempDir()
	keepfailed.OnFailure(t, cfg.StoreDir)
	mark := "targets-" + target + "-" + randomID()
	cfg.Labels = map[string]string{testLabel: mark}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt, err := docker.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	cfg.Runtime = rt
	res, err := harness.Execute(ctx, cfg)
	if err != nil {
		t.Fatalf("Execute %s: %v (summary: %s)", target, err, res.Summary)
	}
	t.Logf("%s %v: %s, %d ops in %s", target, res.Plan.Nemeses, res.Status, res.Ops, res.Duration.Round(time.Millisecond))
	left, err := rt.Client().ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", testLabel+"="+mark))})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("%d containers of the run left behind", len(left))
	}
	return res, filepath.Join(cfg.StoreDir, res.Cell, res.ID)
}

// noFaultRun runs target with the defaults of `lockstorm run` and no
// faults for limit, and requires a valid history with a fair number of
// operations.
func noFaultRun(t *testing.T, target string, limit time.Duration) store.RunResult {
	t.Helper()
	return noFaultRunWith(t, target, "", limit)
}

// noFaultRunWith is noFaultRun with the plan's client.
func noFaultRunWith(t *testing.T, target, client string, limit time.Duration) store.RunResult {
	t.Helper()
	res := runHarnessWith(t, target, client, limit, nil, 0)
	if want := client; want != "" && res.Plan.Client != want || want == "" && res.Plan.Client != plan.ClientProcess {
		t.Errorf("the run's client is %q", res.Plan.Client)
	}
	if res.Status != checker.Valid {
		t.Fatalf("no-fault run of %s is %s: %s\n%s", target, res.Status, res.Summary, anomalies(res))
	}
	// The default hold is sized to the target (harness.DefaultHold): one
	// key's holds follow each other, so a long hold means few ops.
	floor := 50
	if h := res.Plan.Hold; h > 0 {
		floor = min(floor, 2*int(limit/h))
	}
	if res.Ops < floor {
		t.Errorf("only %d ops in a %s run with %s holds, want at least %d", res.Ops, limit, res.Plan.Hold, floor)
	}
	return res
}

// anomalies lists what the checkers found, for failure messages.
func anomalies(res store.RunResult) string {
	var b strings.Builder
	for _, r := range res.Results {
		if r.Status == checker.Valid {
			continue
		}
		fmt.Fprintf(&b, "%s: %s: %s\n", r.Checker, r.Status, r.Summary)
		for _, a := range r.Anomalies {
			fmt.Fprintf(&b, "  %s %s: %s\n", a.Kind, a.Key, a.Explanation)
		}
	}
	return b.String()
}

// hasAnomaly says whether the named checker reported an anomaly of kind.
func hasAnomaly(res store.RunResult, checkerName, kind string) bool {
	for _, r := range res.Results {
		for _, a := range r.Anomalies {
			if r.Checker == checkerName && a.Kind == kind {
				return true
			}
		}
	}
	return false
}
