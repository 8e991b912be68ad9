package workloads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"sync"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// ErrDuplicateIdempotencyKey is the resource's answer to a second charge of
// an order when charges carry the order's idempotency key (a unique
// constraint on the payments table).
var ErrDuplicateIdempotencyKey = errors.New("duplicate idempotency key")

// The payment variants (chapter 7.2.11).
const (
	// PaymentLock guards each charge with the lock alone.
	PaymentLock = "lock"
	// PaymentIdempotencyKey takes no lock: the resource refuses a second
	// charge of an order.
	PaymentIdempotencyKey = "idempotency-key"
	// PaymentBoth takes the lock and also charges with the idempotency
	// key.
	PaymentBoth = "both"
)

// Defaults of the payment options.
const (
	// DefaultOrderPool is how many orders are open at once
	// (--opt payment.orders=N).
	DefaultOrderPool = 4
	// DefaultDeliveries is how many times each order is handed to a
	// server (--opt payment.deliveries=N), as an at-least-once queue does.
	DefaultDeliveries = 3
)

// Payment is the chapter's payment system (7.2.11): each order must be
// charged exactly once, although an at-least-once queue hands it to
// several servers. Orders come from a small pool of open orders, so that
// several servers work on the same order at the same moment. A server
// reads from the trusted resource how often the order was charged, and
// when it was not, calls the payment provider (the hold time) and charges
// it. With variant "lock" only the lock on the order guards this; with
// "idempotency-key" there is no lock and the resource's unique key per
// order refuses a second charge; "both" does both. A client fault of the
// nemesis strikes a lock holder after the read, before the charge.
type Payment struct{}

// Name implements Workload.
func (Payment) Name() string { return "payment" }

// The payment options.
var (
	paymentOrdersOpt = option.Int{Name: "payment.orders", Default: DefaultOrderPool, Min: 1, Max: 1000,
		Help: "how many orders are open at once"}
	paymentDeliveriesOpt = option.Int{Name: "payment.deliveries", Default: DefaultDeliveries, Min: 1, Max: 1000,
		Help: "how many times the queue hands each order to a server"}
)

// Options implements Workload.
func (Payment) Options() []option.Spec { return option.Specs(paymentOrdersOpt, paymentDeliveriesOpt) }

// Description implements Workload.
func (Payment) Description() string {
	return "charge each order exactly once: variants lock, idempotency-key, both (chapter 7.2.11)"
}

// Variants lists the variants, the default first.
func (Payment) Variants() []string {
	return []string{PaymentLock, PaymentIdempotencyKey, PaymentBoth}
}

// Keys implements Workload: one lock key per slot of the order pool. A slot
// holds one open order at a time, so the lock of a slot is the lock of its
// order, and the liveness probe gets a fixed set of keys.
func (Payment) Keys(p *plan.Plan) []string {
	n := paymentOrdersOpt.Get(p.Options)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("order-lock-%d", i)
	}
	return keys
}

// Checkers implements Workload: the payment checker.
func (pay Payment) Checkers(p *plan.Plan) []func(history.History) checker.Result {
	variant := variantOf(pay, p)
	return []func(history.History) checker.Result{
		func(h history.History) checker.Result { return checker.Payment(h, variant) },
	}
}

// Run implements Workload.
func (pay Payment) Run(ctx context.Context, env *Env) error {
	p := env.Plan
	variant := variantOf(pay, p)
	deliveries := paymentDeliveriesOpt.Get(p.Options)
	keys := pay.Keys(p)
	pool := newOrderPool(len(keys), deliveries)
	locked := variant != PaymentIdempotencyKey
	unique := variant != PaymentLock
	res := NewResource(p.Fencing)
	return runWorkers(ctx, env, func(w *worker) error {
		n, slot := pool.next(w.rng)
		order := fmt.Sprintf("o-%d", n)
		var token *int64
		if locked {
			g, ok := w.acquire(keys[slot])
			if !ok {
				return nil
			}
			token = g.Token
		}
		charges, ok := w.readFenced(res, order, token)
		if ok && charges == 0 {
			// A client fault strikes a holder between the check and the
			// charge. Without a lock there is no holder to strike.
			if locked && !w.afterAcquire(keys[slot]) {
				return nil
			}
			if !locked {
				w.lost = false // no lock to lose
			}
			w.work(keys[slot], p.Hold) // the call to the payment provider
			if !w.lost {
				w.charge(res, order, token, unique)
			}
		}
		if locked {
			w.release(keys[slot])
		}
		return nil
	})
}

// charge charges order at the resource, with the holder's token. With
// unique set, the resource refuses a second charge of the order.
func (w *worker) charge(res *Resource, order string, token *int64, unique bool) bool {
	_, ok := w.access(history.FCharge, order, token, nil, func() (json.RawMessage, error) {
		var n int64
		err := res.Apply(order, token, func(old int64) (int64, error) {
			if unique && old > 0 {
				return old, fmt.Errorf("%w for order %s", ErrDuplicateIdempotencyKey, order)
			}
			n = old + 1
			return n, nil
		})
		return jsonInt(n), err
	})
	return ok
}

// An orderPool hands out orders: slot s holds order s, then s+slots, and
// so on; each order is handed out deliveries times before the next order
// takes its slot.
type orderPool struct {
	mu         sync.Mutex
	current    []int64
	handedOut  []int
	deliveries int
}

func newOrderPool(slots, deliveries int) *orderPool {
	p := &orderPool{current: make([]int64, slots), handedOut: make([]int, slots), deliveries: max(deliveries, 1)}
	for i := range p.current {
		p.current[i] = int64(i)
	}
	return p
}

// next picks a random open order; it returns the order number and its slot.
func (p *orderPool) next(rng *rand.Rand) (int64, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := rng.Intn(len(p.current))
	n := p.current[s]
	p.handedOut[s]++
	if p.handedOut[s] >= p.deliveries {
		p.current[s] += int64(len(p.current))
		p.handedOut[s] = 0
	}
	return n, s
}

// Judges implements Workload.
func (Payment) Judges() []string { return []string{checker.NamePayment} }
