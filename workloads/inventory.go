package workloads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// DefaultStock is the stock every item starts with in the inventory
// workload, unless --opt inventory.stock=N says otherwise.
const DefaultStock = 1_000_000

// The inventory variants.
const (
	// InventoryReadWrite writes back the stock read, less one: under a
	// broken lock, deductions are lost.
	InventoryReadWrite = "read-write"
	// InventoryDecrement checks that the stock is positive, then has the
	// resource decrement it (UPDATE stock = stock - 1): under a broken
	// lock, the stock goes below zero.
	InventoryDecrement = "decrement"
)

// Inventory is the chapter's first example (7.2.2): servers deduct stock
// for orders. Each client takes the lock of a random item, reads its
// stock from the trusted resource, works for the hold time, and writes the
// stock back less one, with its fencing token, then releases. A client
// fault of the nemesis (a stall or a crash) strikes after the read, before
// the write: the moment at which a paused holder does harm. An item out
// of stock is not deducted. Once the clients have stopped, the workload
// records an audit of every item's final stock, so that the inventory
// checker can compare what the stock fell by with the deductions that
// returned ok.
type Inventory struct{}

// Name implements Workload.
func (Inventory) Name() string { return "inventory" }

// inventoryStockOpt is the stock every item starts with.
var inventoryStockOpt = option.Int{Name: "inventory.stock", Default: DefaultStock, Min: 0,
	Help: "the stock every item starts with"}

// Options implements Workload.
func (Inventory) Options() []option.Spec { return option.Specs(inventoryStockOpt) }

// Description implements Workload.
func (Inventory) Description() string {
	return "servers deduct stock for orders under the lock; finds lost deductions and negative stock (chapter 7.2.2)"
}

// Variants lists the variants, the default first.
func (Inventory) Variants() []string { return []string{InventoryReadWrite, InventoryDecrement} }

// Keys implements Workload: one lock and one stock register per item.
func (Inventory) Keys(p *plan.Plan) []string { return itemKeys(p.Keys) }

// Checkers implements Workload: the inventory checker, with the initial
// stock of the options.
func (Inventory) Checkers(p *plan.Plan) []func(history.History) checker.Result {
	stock := int64(inventoryStockOpt.Get(p.Options))
	return []func(history.History) checker.Result{
		func(h history.History) checker.Result { return checker.Inventory(h, stock) },
	}
}

// Run implements Workload.
func (i Inventory) Run(ctx context.Context, env *Env) error {
	p := env.Plan
	variant := variantOf(i, p)
	stock := int64(inventoryStockOpt.Get(p.Options))
	keys := i.Keys(p)
	res := NewResource(p.Fencing)
	for _, k := range keys {
		_ = res.Write(k, nil, stock) // the stock on hand before the run
	}
	err := runWorkers(ctx, env, func(w *worker) error {
		key := keys[w.rng.Intn(len(keys))]
		g, ok := w.acquire(key)
		if !ok {
			return nil
		}
		v, ok := w.readFenced(res, key, g.Token)
		if ok && v > 0 {
			// A client fault strikes between the check and the act.
			if !w.afterAcquire(key) {
				return nil
			}
			w.work(key, p.Hold)
			switch {
			case w.lost:
			case variant == InventoryDecrement:
				w.decrement(res, key, g.Token)
			default:
				w.write(res, key, g.Token, v-1)
			}
		}
		w.release(key)
		return nil
	})
	if aerr := audit(env, res, keys); aerr != nil {
		err = errors.Join(err, aerr)
	}
	return err
}

// decrement has the resource subtract one from key atomically, recorded as
// a write whose completion carries the new stock.
func (w *worker) decrement(res *Resource, key string, token *int64) bool {
	_, ok := w.access(history.FWrite, key, token, nil, func() (json.RawMessage, error) {
		var now int64
		err := res.Apply(key, token, func(old int64) (int64, error) {
			now = old - 1
			return now, nil
		})
		return jsonInt(now), err
	})
	return ok
}

func itemKeys(n int) []string {
	n = max(n, 1)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("item-%d", i)
	}
	return keys
}

// Judges implements Workload.
func (Inventory) Judges() []string { return []string{checker.NameInventory} }
