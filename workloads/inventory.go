package workloads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
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

// Description implements Workload.
func (Inventory) Description() string {
	return "servers deduct stock for orders under the lock; finds lost deductions and negative stock (chapter 7.2.2)"
}

// Variants lists the variants, the default first.
func (Inventory) Variants() []string { return []string{InventoryReadWrite, InventoryDecrement} }

// Keys implements Workload: one lock and one stock register per item.
func (Inventory) Keys(cfg Config) []string { return itemKeys(cfg.Keys) }

// Validate reports a bad variant or option.
func (i Inventory) Validate(cfg Config) error {
	if _, err := pickVariant(i.Name(), cfg.Variant, i.Variants()); err != nil {
		return err
	}
	_, err := optInt(cfg, "inventory.stock", DefaultStock, 0)
	return err
}

// Checkers implements Workload: the inventory checker, with the initial
// stock of the options.
func (Inventory) Checkers(cfg Config) []func(history.History) checker.Result {
	stock, err := optInt(cfg, "inventory.stock", DefaultStock, 0)
	if err != nil {
		stock = DefaultStock
	}
	return []func(history.History) checker.Result{
		func(h history.History) checker.Result { return checker.Inventory(h, stock) },
	}
}

// Run implements Workload.
func (i Inventory) Run(ctx context.Context, env *Env) error {
	cfg := env.Config
	if err := i.Validate(cfg); err != nil {
		return err
	}
	variant, _ := pickVariant(i.Name(), cfg.Variant, i.Variants())
	stock, _ := optInt(cfg, "inventory.stock", DefaultStock, 0)
	keys := i.Keys(cfg)
	res := NewResource(cfg.Fencing)
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
			sleep(cfg.Hold)
			if variant == InventoryDecrement {
				w.decrement(res, key, g.Token)
			} else {
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

// The helpers below are shared by the use-case workloads (inventory,
// payment, scheduled jobs, leader election).

// ErrBadOption is wrapped when a workload option (--opt name=value) has a
// value the workload cannot use.
var ErrBadOption = errors.New("bad workload option")

// ErrUnknownVariant is wrapped when Config.Variant names no variant of the
// workload.
var ErrUnknownVariant = errors.New("unknown workload variant")

// pickVariant returns the variant asked for, or the default (the first)
// when none was.
func pickVariant(workload, asked string, valid []string) (string, error) {
	if asked == "" {
		if len(valid) == 0 {
			return "", nil
		}
		return valid[0], nil
	}
	if !slices.Contains(valid, asked) {
		if len(valid) == 0 {
			return "", fmt.Errorf("%w %q: %s has no variants", ErrUnknownVariant, asked, workload)
		}
		return "", fmt.Errorf("%w %q for %s (valid: %v)", ErrUnknownVariant, asked, workload, valid)
	}
	return asked, nil
}

// optInt reads an integer option of at least lo, or def when absent.
func optInt(cfg Config, name string, def, lo int64) (int64, error) {
	s, ok := cfg.Extra[name]
	if !ok || s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo {
		return def, fmt.Errorf("%w: %s=%q: want an integer of at least %d", ErrBadOption, name, s, lo)
	}
	return v, nil
}

// optDuration reads a positive duration option, or def when absent.
func optDuration(cfg Config, name string, def time.Duration) (time.Duration, error) {
	s, ok := cfg.Extra[name]
	if !ok || s == "" {
		return def, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return def, fmt.Errorf("%w: %s=%q: want a positive duration such as 200ms", ErrBadOption, name, s)
	}
	return v, nil
}

// access records one op f on the trusted resource for the worker's
// process: the invoke with the token and the payload in, then do, then ok
// with the payload do returns, or fail with do's error. The resource lives
// in the harness, so its ops always complete.
func (w *worker) access(f, key string, token *int64, in json.RawMessage, do func() (json.RawMessage, error)) (json.RawMessage, bool) {
	w.record(history.Op{Type: history.Invoke, F: f, Key: key, Token: token, Value: in})
	out, err := do()
	if err != nil {
		w.record(history.Op{Type: history.Fail, F: f, Key: key, Token: token, Value: in, Error: err.Error()})
		return nil, false
	}
	if out == nil {
		out = in
	}
	w.record(history.Op{Type: history.Ok, F: f, Key: key, Token: token, Value: out})
	return out, true
}

// readFenced reads key presenting the holder's token. A fenced resource
// remembers the token, so that a holder with an older token can no longer
// write what it read before: fencing the writes alone would let a stale
// holder's read-modify-write land between a newer holder's read and write.
// A rejected read is recorded as a fail.
func (w *worker) readFenced(res *Resource, key string, token *int64) (int64, bool) {
	var v int64
	_, ok := w.access(history.FRead, key, token, nil, func() (json.RawMessage, error) {
		err := res.Apply(key, token, func(old int64) (int64, error) {
			v = old
			return old, nil
		})
		return jsonInt(v), err
	})
	return v, ok
}

// audit records the final value of each key, once the clients have
// stopped, as one process that follows every client process.
func audit(env *Env, res *Resource, keys []string) error {
	p := 0
	for _, op := range env.Recorder.History() {
		p = max(p, op.Process+1)
	}
	for _, k := range keys {
		if _, err := env.Recorder.Record(history.Op{Process: p, Type: history.Invoke, F: checker.FAudit, Key: k}); err != nil {
			return fmt.Errorf("audit %s: %w", k, err)
		}
		v := jsonInt(res.Read(k))
		if _, err := env.Recorder.Record(history.Op{Process: p, Type: history.Ok, F: checker.FAudit, Key: k, Value: v}); err != nil {
			return fmt.Errorf("audit %s: %w", k, err)
		}
	}
	return nil
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
