package targettest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/internal/keepfailed"
	"github.com/lockstorm/lockstorm/internal/testdocker"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime/docker"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets/all"
)

// RunHarness runs the mutex workload through the harness on target, with
// the given nemeses and lockstorm's client processes, and checks that the
// run leaves no container behind.
func RunHarness(t *testing.T, target string, limit time.Duration, nemeses []string, interval time.Duration) store.RunResult {
	return RunHarnessWith(t, target, "", limit, nemeses, interval)
}

// RunHarnessWith is RunHarness with the client of the plan ("" for the
// default, plan.ClientGo for the Go binding in the harness).
func RunHarnessWith(t *testing.T, target, client string, limit time.Duration, nemeses []string, interval time.Duration) store.RunResult {
	t.Helper()
	res, _ := RunPlan(t, target, limit, func(p *plan.Plan) {
		p.Client, p.Nemeses = client, nemeses
		if interval > 0 {
			p.NemesisInterval = interval
		}
	})
	return res
}

// RunPlan runs target through the harness for limit with the plan that
// change makes of the defaults, and returns the result and the run's
// directory.
func RunPlan(t *testing.T, target string, limit time.Duration, change func(*plan.Plan)) (store.RunResult, string) {
	t.Helper()
	rt := testdocker.Runtime(t, docker.New)
	all.Register() // the harness looks the target up by name, as in cli.Main
	cfg := harness.DefaultConfig()
	cfg.Plan.Target, cfg.Plan.TimeLimit = target, limit
	change(&cfg.Plan)
	cfg.ClientBinary = testdocker.Lockstorm(t)
	cfg.StoreDir = t.TempDir()
	keepfailed.OnFailure(t, cfg.StoreDir)
	mark := testdocker.ID("targets-" + target)
	cfg.Labels = map[string]string{testdocker.Label: mark}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg.Runtime = rt
	res, err := harness.Execute(ctx, cfg)
	if err != nil {
		t.Fatalf("Execute %s: %v (summary: %s)", target, err, res.Summary)
	}
	t.Logf("%s %v: %s, %d ops in %s", target, res.Plan.Nemeses, res.Status, res.Ops, res.Duration.Round(time.Millisecond))
	if left, nets := testdocker.Count(t, testdocker.Label+"="+mark); left+nets > 0 {
		t.Errorf("%d containers and %d networks of the run left behind", left, nets)
	}
	return res, filepath.Join(cfg.StoreDir, res.Cell, res.ID)
}

// NoFaultRun runs target with the defaults of `lockstorm run` and no
// faults for limit, and requires a valid history with a fair number of
// operations.
func NoFaultRun(t *testing.T, target string, limit time.Duration) store.RunResult {
	t.Helper()
	return NoFaultRunWith(t, target, "", limit)
}

// NoFaultRunWith is NoFaultRun with the plan's client.
func NoFaultRunWith(t *testing.T, target, client string, limit time.Duration) store.RunResult {
	t.Helper()
	res := RunHarnessWith(t, target, client, limit, nil, 0)
	if want := client; want != "" && res.Plan.Client != want || want == "" && res.Plan.Client != plan.ClientProcess {
		t.Errorf("the run's client is %q", res.Plan.Client)
	}
	if res.Status != checker.Valid {
		t.Fatalf("no-fault run of %s is %s: %s\n%s", target, res.Status, res.Summary, Anomalies(res))
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

// Anomalies lists what the checkers found, for failure messages.
func Anomalies(res store.RunResult) string {
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

// HasAnomaly says whether the named checker reported an anomaly of kind.
func HasAnomaly(res store.RunResult, checkerName, kind string) bool {
	for _, r := range res.Results {
		for _, a := range r.Anomalies {
			if r.Checker == checkerName && a.Kind == kind {
				return true
			}
		}
	}
	return false
}
