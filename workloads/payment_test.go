package workloads

import (
	"math/rand"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/targets/inmemory"
)

// paymentConfig makes several servers work on the same order at once: a
// pool of two open orders, each delivered three times, no rate limit, and
// a provider call of a few milliseconds.
func paymentConfig(variant string) plan.Plan {
	return plan.Plan{Hold: 3 * time.Millisecond, Variant: variant,
		Options: option.Values{"payment.orders": "2", "payment.deliveries": "3"}}
}

func paymentDetails(t *testing.T, rep checker.Report) (checker.Result, checker.PaymentDetails) {
	t.Helper()
	r := result(t, rep, "payment")
	var d checker.PaymentDetails
	details(t, r, &d)
	return r, d
}

func TestPaymentLockChargesOnceUnderACorrectLock(t *testing.T) {
	t.Parallel()
	_, rep := runWorkload(t, Payment{}, inmemory.New(), oneNode, paymentConfig(PaymentLock), time.Second)
	r, d := paymentDetails(t, rep)
	if rep.Status != checker.Valid || r.Status != checker.Valid {
		t.Fatalf("report %s, payment %s: %s", rep.Status, r.Status, r.Summary)
	}
	if d.Charges == 0 || d.Charges != d.Orders-d.Uncharged {
		t.Errorf("details %+v: want one charge per charged order", d)
	}
}

func TestPaymentLockDoubleChargesUnderABrokenLock(t *testing.T) {
	t.Parallel()
	_, rep := runWorkload(t, Payment{}, inmemory.New(), threeNodes, paymentConfig(PaymentLock), time.Second)
	r, d := paymentDetails(t, rep)
	if r.Status != checker.Invalid || d.DoubleCharges == 0 {
		t.Fatalf("payment %s (%s), want double charges under a broken lock", r.Status, r.Summary)
	}
	if me := result(t, rep, "mutual-exclusion"); me.Status != checker.Invalid {
		t.Errorf("orders were charged twice, yet mutual exclusion is %s", me.Status)
	}
	if d.Variant != PaymentLock || r.AnomalyCount != d.DoubleCharges {
		t.Errorf("details %+v with %d anomalies: want variant lock and one anomaly per order", d, r.AnomalyCount)
	}
}

func TestPaymentIdempotencyKeyNeverDoubleCharges(t *testing.T) {
	t.Parallel()
	h, rep := runWorkload(t, Payment{}, inmemory.New(), threeNodes, paymentConfig(PaymentIdempotencyKey), time.Second)
	r, d := paymentDetails(t, rep)
	if r.Status != checker.Valid || d.Charges == 0 {
		t.Fatalf("payment %s (%s), want valid with charges", r.Status, r.Summary)
	}
	if d.RejectedDuplicates == 0 {
		t.Errorf("details %+v: servers raced on the same orders, so the unique key should have refused some charges", d)
	}
	for _, o := range h {
		if o.F == history.FAcquire {
			t.Fatalf("the idempotency-key variant took a lock: %v", o)
		}
	}
}

func TestPaymentBothIsSafeUnderABrokenLock(t *testing.T) {
	t.Parallel()
	_, rep := runWorkload(t, Payment{}, inmemory.New(), threeNodes, paymentConfig(PaymentBoth), time.Second)
	r, d := paymentDetails(t, rep)
	if r.Status != checker.Valid || d.Variant != PaymentBoth {
		t.Fatalf("payment %s %+v (%s), want valid", r.Status, d, r.Summary)
	}
	if me := result(t, rep, "mutual-exclusion"); me.Status != checker.Invalid {
		t.Errorf("mutual exclusion is %s; three in-memory nodes should break it", me.Status)
	}
}

func TestOrderPoolDeliversEachOrderAsOften(t *testing.T) {
	p := newOrderPool(3, 4)
	counts := map[int64]int{}
	rng := newTestRand()
	for i := 0; i < 3*4*50; i++ {
		n, slot := p.next(rng)
		if int(n%3) != slot {
			t.Fatalf("order %d came from slot %d", n, slot)
		}
		counts[n]++
	}
	for n, c := range counts {
		if c > 4 {
			t.Errorf("order %d delivered %d times, want at most 4", n, c)
		}
	}
}

func newTestRand() *rand.Rand { return rand.New(rand.NewSource(7)) }
