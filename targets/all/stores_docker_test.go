package all_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/etcd"
	"github.com/lockstorm/lockstorm/targets/postgres"
	"github.com/lockstorm/lockstorm/targets/redis"
	"github.com/lockstorm/lockstorm/targets/targettest"
	"github.com/lockstorm/lockstorm/targets/zookeeper"
)

// The stores of the contention workload, against the real servers: a
// conditional write loses to a write in between, a decrement stops at zero,
// and what one process wrote another reads.
func TestDockerStoresKeepStockAndRefuseStaleWrites(t *testing.T) {
	for _, tc := range []struct {
		target targets.Service
		nodes  int
	}{
		{redis.New(), 1},
		{etcd.New(), 3},
		{postgres.NewAdvisory(), 1},
		{zookeeper.New(), 3},
	} {
		t.Run(tc.target.Name(), func(t *testing.T) {
			targettest.SetUp(t, tc.target, tc.nodes, targettest.Settings{TTL: 2 * time.Second, Wait: time.Second})
			st, ok := targets.StockerOf(tc.target)
			if !ok {
				t.Fatalf("%s has no store", tc.target.Name())
			}
			a, b := newStore(t, tc.target, 0), newStore(t, tc.target, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			const key = "item-optimistic-c2"
			if err := a.Put(ctx, key, 2); err != nil {
				t.Fatalf("Put: %v", err)
			}
			n, va, err := b.Get(ctx, key)
			if err != nil || n != 2 {
				t.Fatalf("Get by another process = %d, %v; want 2", n, err)
			}
			// a writes in between: b's conditional write must lose.
			_, v0, _ := a.Get(ctx, key)
			if err := a.SetIf(ctx, key, 1, v0); err != nil {
				t.Fatalf("SetIf with the current version: %v", err)
			}
			if err := b.SetIf(ctx, key, 1, va); !errors.Is(err, targets.ErrConflict) {
				t.Fatalf("SetIf with a stale version = %v, want ErrConflict", err)
			}
			if n, _, _ := b.Get(ctx, key); n != 1 {
				t.Fatalf("after one deduction the stock is %d, want 1", n)
			}
			if err := b.Set(ctx, key, 5); err != nil {
				t.Fatalf("Set: %v", err)
			}
			if n, _, _ := a.Get(ctx, key); n != 5 {
				t.Fatalf("after Set(5) the stock is %d", n)
			}
			if !st.Decrements() {
				if _, err := a.Decrement(ctx, key); !errors.Is(err, errors.ErrUnsupported) {
					t.Fatalf("Decrement on a store without one = %v, want ErrUnsupported", err)
				}
				return
			}
			if err := a.Put(ctx, key, 1); err != nil {
				t.Fatal(err)
			}
			if left, err := a.Decrement(ctx, key); err != nil || left != 0 {
				t.Fatalf("Decrement from 1 = %d, %v; want 0", left, err)
			}
			if _, err := b.Decrement(ctx, key); !errors.Is(err, targets.ErrOutOfStock) {
				t.Fatalf("Decrement at 0 = %v, want ErrOutOfStock", err)
			}
			if n, _, _ := a.Get(ctx, key); n != 0 {
				t.Fatalf("the stock went to %d, below zero", n)
			}
		})
	}
}

// newStore returns process p's store connection of tg, closed when the
// test ends.
func newStore(t *testing.T, tg targets.Service, p int) targets.Store {
	t.Helper()
	pl := targettest.Plan(t, tg)
	st, _ := targets.StockerOf(tg)
	s, err := st.NewStore(context.Background(), targets.ClientEnv{Plan: pl, Process: p, Node: pl.NodeFor(p)})
	if err != nil {
		t.Fatalf("NewStore(%d): %v", p, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// The scaling sweep against each real service, from the harness: every
// deduction is accounted for by the audit of the stock in the service,
// and every way the store has is measured at every number of clients.
func TestDockerContentionSweepAccountsForEveryDeduction(t *testing.T) {
	for _, target := range []string{"redis", "etcd", "postgres-advisory", "zookeeper"} {
		t.Run(target, func(t *testing.T) {
			res, _ := targettest.RunPlan(t, target, 12*time.Second, func(p *plan.Plan) {
				p.Workload, p.Client, p.Hold = "contention", plan.ClientGo, 0
				p.Options = map[string]string{"contention.clients": "1,4,16"}
			})
			if res.Status != checker.Valid {
				t.Fatalf("status %s: %s\n%s", res.Status, res.Summary, targettest.Anomalies(res))
			}
			var inv checker.InventoryDetails
			var con checker.ContentionDetails
			var summary string
			for _, r := range res.Results {
				switch r.Checker {
				case checker.NameInventory:
					mustDecode(t, r.Details, &inv)
				case checker.NameContention:
					mustDecode(t, r.Details, &con)
					summary = r.Summary
				}
			}
			if inv.Final == nil || inv.Deductions == 0 || inv.LostUpdates != 0 {
				t.Fatalf("inventory: %+v", inv)
			}
			if got := inv.Initial*int64(inv.Items) - *inv.Final; got < int64(inv.Deductions) || got > int64(inv.Deductions+inv.Indeterminate) {
				t.Fatalf("the stock fell by %d for %d deductions (%d unknown)", got, inv.Deductions, inv.Indeterminate)
			}
			ways := 2
			if target == "redis" || target == "postgres-advisory" {
				ways = 3
			}
			if len(con.Points) != ways*3 {
				t.Fatalf("%d points, want %d: %+v", len(con.Points), ways*3, con.Points)
			}
			for _, p := range con.Points {
				if p.Deductions == 0 || p.PerSecond <= 0 {
					t.Errorf("%s with %d clients made no deduction: %+v", p.Way, p.Clients, p)
				}
			}
			if con.At != 16 || len(con.Ratios) != ways-1 {
				t.Errorf("ratios at %d: %v", con.At, con.Ratios)
			}
			t.Logf("%s: %s", target, summary)
		})
	}
}

func mustDecode(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}
