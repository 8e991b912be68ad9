package workloads

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/etcd"
	"github.com/lockstorm/lockstorm/targets/inmemory"
	"github.com/lockstorm/lockstorm/targets/redis"
	"github.com/lockstorm/lockstorm/targets/zookeeper"
)

// The sweep against the in-memory target on one node (a correct lock, one
// shared table as the store): every way at every number of clients, and
// every deduction accounted for.
func TestContentionSweepMeasuresEveryWayAndLosesNothing(t *testing.T) {
	t.Parallel()
	// Nine phases of 200 ms. Before the sweep kept time back for the
	// phases to come (phaseShare), about one run in four on this 2-core
	// machine left the last phase no time; since, 1 of 32 runs did, with
	// two campaigns running beside it (a phase ran over by most of a
	// second). A phase that did not run is timing, not a lost deduction,
	// so it gets up to two more runs; every deduction must be accounted for
	// in each.
	for attempt := 1; ; attempt++ {
		missing := contentionSweepOnce(t)
		if missing == "" {
			return
		}
		if attempt == 3 {
			t.Fatal(missing)
		}
		t.Logf("attempt %d: %s; once more", attempt, missing)
	}
}

// contentionSweepOnce runs the sweep once and fails t on anything but a
// phase that did not run, which it returns in words.
func contentionSweepOnce(t *testing.T) string {
	t.Helper()
	cfg := plan.Plan{TimeLimit: 1800 * time.Millisecond, Client: plan.ClientGo, Options: option.Values{"contention.clients": "1,2,8"}}
	_, rep := runWorkload(t, Contention{}, inmemory.New(), oneNode, cfg, cfg.TimeLimit)
	inv := result(t, rep, checker.NameInventory)
	var d checker.InventoryDetails
	details(t, inv, &d)
	if rep.Status != checker.Valid || d.Deductions == 0 || d.Items != 9 || d.Final == nil ||
		*d.Final != 9*DefaultStock-int64(d.Deductions) {
		t.Fatalf("report %s, inventory %s: %+v", rep.Status, inv.Summary, d)
	}
	var c checker.ContentionDetails
	details(t, result(t, rep, checker.NameContention), &c)
	if len(c.Points) != 9 {
		return fmt.Sprintf("%d points, want 3 ways × 3 numbers of clients: %+v", len(c.Points), c.Points)
	}
	total := 0.0
	for _, p := range c.Points {
		if p.Deductions == 0 {
			t.Errorf("%s with %d clients made no deduction", p.Way, p.Clients)
		}
		total += p.Seconds
	}
	// The phases run one after the other within the time limit.
	if total > cfg.TimeLimit.Seconds()+0.5 {
		return fmt.Sprintf("the phases lasted %gs in all, in a run of %s", total, cfg.TimeLimit)
	}
	if c.At != 8 || len(c.Ratios) != 2 {
		t.Errorf("ratios at %d: %v", c.At, c.Ratios)
	}
	return ""
}

// Under a broken lock (three in-memory servers) the lock way loses
// deductions; the optimistic way, with the same servers and no lock,
// loses none: the chapter's "conflict resolution possible".
func TestContentionOptimisticNeedsNoLock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		variant string
		lost    bool
	}{{checker.WayLock, true}, {checker.WayOptimistic, false}, {checker.WayAtomic, false}} {
		cfg := plan.Plan{Hold: 2 * time.Millisecond, Variant: tc.variant, Concurrency: 6}
		_, rep := runWorkload(t, Contention{}, inmemory.New(), threeNodes, cfg, time.Second)
		inv := result(t, rep, checker.NameInventory)
		var d checker.InventoryDetails
		details(t, inv, &d)
		if d.Deductions == 0 {
			t.Fatalf("%s: no deduction", tc.variant)
		}
		if got := d.LostUpdates > 0; got != tc.lost {
			t.Errorf("%s over three servers: %s (lost %d), want lost deductions: %v", tc.variant, inv.Summary, d.LostUpdates, tc.lost)
		}
	}
}

func TestContentionPrepareRefusesWhatCannotWork(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target targets.Service
		change func(*plan.Plan)
		field  string
		words  string
	}{
		{"no store", redis.NewRedlock(), func(*plan.Plan) {}, "workload", "has none here"},
		{"fencing", redis.New(), func(p *plan.Plan) { p.Fencing = true }, "fencing", "does not check fencing tokens"},
		{"no decrement", etcd.New(), func(p *plan.Plan) { p.Variant = checker.WayAtomic }, "variant", "no atomic decrement"},
		{"decrement asked of the sweep", zookeeper.New(), func(p *plan.Plan) { p.Options = option.Values{"contention.ways": "lock,atomic"} }, "variant", "no atomic decrement"},
		{"phases too short", redis.New(), func(p *plan.Plan) { p.TimeLimit = 5 * time.Second }, "time-limit", "18 phases"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan.Plan{TimeLimit: 20 * time.Second, Concurrency: 5, Options: option.Values{}}
			tc.change(&p)
			err := Contention{}.Prepare(&p, tc.target)
			var fe *plan.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.words) {
				t.Fatalf("Prepare = %v, want a %s error saying %q", err, tc.field, tc.words)
			}
		})
	}
	p := plan.Plan{TimeLimit: 9 * time.Second, Concurrency: 5, Options: option.Values{}}
	if err := (Contention{}).Prepare(&p, redis.New()); err != nil {
		t.Errorf("9 s for 18 phases of 500 ms: %v", err)
	}
}

// Each phase keeps back, for every phase still to come, the most that a
// phase has run over: with 2 s left for four phases and 100 ms of overrun
// seen, this one gets (2 s − 400 ms) / 4, and the last gets its share
// even if the next three run over as much.
func TestPhaseShareKeepsBackWhatPhasesRunOver(t *testing.T) {
	for _, tc := range []struct {
		remaining time.Duration
		left      int
		over      time.Duration
		want      time.Duration
	}{
		{2 * time.Second, 4, 0, 500 * time.Millisecond},
		{2 * time.Second, 4, 100 * time.Millisecond, 400 * time.Millisecond},
		{2 * time.Second, 1, 100 * time.Millisecond, 1900 * time.Millisecond},
		{time.Second, 2, 400 * time.Millisecond, 250 * time.Millisecond}, // at most half kept back
		{0, 3, 0, 0},
		{-time.Second, 1, 0, 0},
	} {
		if got := phaseShare(tc.remaining, tc.left, tc.over); got != tc.want {
			t.Errorf("phaseShare(%s, %d, %s) = %s, want %s", tc.remaining, tc.left, tc.over, got, tc.want)
		}
	}
	// Four phases that each run over by the same 100 ms fit the 2 s.
	remaining, over := 2*time.Second, time.Duration(0)
	for left := 4; left > 0; left-- {
		share := phaseShare(remaining, left, over)
		if share <= 0 {
			t.Fatalf("phase %d of 4 got no time", 5-left)
		}
		remaining -= share + 100*time.Millisecond
		over = 100 * time.Millisecond
	}
	if remaining < 0 {
		t.Errorf("the phases ran %s past the end", -remaining)
	}
}
