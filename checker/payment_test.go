package checker

import (
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

// chargeOp is one charge of order by p from msec on, completed by typ.
func chargeOp(msec float64, p int, order string, typ history.Type, opts ...opt) []history.Op {
	return []history.Op{inv(msec, p, history.FCharge, order), rec(msec+0.5, p, typ, history.FCharge, order, opts...)}
}

func TestPayment(t *testing.T) {
	cases := []struct {
		name     string
		ops      []history.Op
		want     Status
		doubles  int
		possible int
		rejected int
		fenced   int
		charges  int
	}{
		{name: "one charge per order", want: Valid, charges: 2,
			ops: cat(chargeOp(0, 0, "o-1", history.Ok), chargeOp(1, 1, "o-2", history.Ok))},
		{name: "independent orders charged at once", want: Valid, charges: 2,
			ops: cat(chargeOp(0, 0, "o-1", history.Ok), chargeOp(0.2, 1, "o-2", history.Ok))},
		{name: "two certain charges", want: Invalid, doubles: 1, charges: 2,
			ops: cat(chargeOp(0, 3, "o-17", history.Ok), chargeOp(0.2, 7, "o-17", history.Ok))},
		{name: "an indeterminate charge is only a possible double charge", want: Valid, possible: 1, charges: 1,
			ops: cat(chargeOp(0, 3, "o-17", history.Ok), chargeOp(0.2, 7, "o-17", history.Info, errText("timeout")))},
		{name: "two indeterminate charges", want: Valid, possible: 1,
			ops: cat(chargeOp(0, 3, "o-17", history.Info), chargeOp(0.2, 7, "o-17", history.Info))},
		{name: "a charge without completion counts as indeterminate", want: Valid, possible: 1, charges: 1,
			ops: cat(chargeOp(0, 3, "o-17", history.Ok), []history.Op{inv(2, 7, history.FCharge, "o-17")})},
		{name: "duplicate rejected by the idempotency key", want: Valid, rejected: 1, charges: 1,
			ops: cat(chargeOp(0, 3, "o-17", history.Ok),
				chargeOp(0.2, 7, "o-17", history.Fail, errText("duplicate idempotency key for order o-17")))},
		{name: "stale charge rejected by fencing", want: Valid, fenced: 1, charges: 1,
			ops: cat(chargeOp(0, 3, "o-17", history.Ok, tok(2)),
				chargeOp(0.2, 7, "o-17", history.Fail, tok(1), errText("stale token 1 < 2")))},
		{name: "fenced read", want: Valid, fenced: 1, charges: 1,
			ops: cat(chargeOp(0, 3, "o-17", history.Ok, tok(2)),
				[]history.Op{inv(1, 7, history.FRead, "o-17", tok(1)), fail(1.1, 7, history.FRead, "o-17", tok(1), errText("stale token 1 < 2"))})},
		{name: "an ok charge and a fenced one still double-charge with a third", want: Invalid, doubles: 1, fenced: 1, charges: 2,
			ops: cat(chargeOp(0, 3, "o-17", history.Ok), chargeOp(0.1, 5, "o-17", history.Fail, errText("stale token 1 < 2")),
				chargeOp(0.2, 7, "o-17", history.Ok))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Payment(hist(t, c.ops...), "lock")
			var d PaymentDetails
			mustUnmarshal(t, r.Details, &d)
			if r.Status != c.want || d.DoubleCharges != c.doubles || d.PossibleDoubleCharges != c.possible ||
				d.RejectedDuplicates != c.rejected || d.Fenced != c.fenced || d.Charges != c.charges {
				t.Errorf("got %s %+v (%s), want %s doubles=%d possible=%d rejected=%d fenced=%d charges=%d",
					r.Status, d, r.Summary, c.want, c.doubles, c.possible, c.rejected, c.fenced, c.charges)
			}
			if r.AnomalyCount != c.doubles || len(r.Anomalies) != c.doubles {
				t.Errorf("%d anomalies (%d stored), want %d", r.AnomalyCount, len(r.Anomalies), c.doubles)
			}
			if d.Variant != "lock" {
				t.Errorf("variant %q, want lock", d.Variant)
			}
		})
	}
}

func TestPaymentOneAnomalyPerOrder(t *testing.T) {
	h := hist(t, cat(
		chargeOp(0, 3, "o-17", history.Ok, tok(5)), chargeOp(0.2, 7, "o-17", history.Ok, tok(6)),
		chargeOp(1, 3, "o-18", history.Ok), chargeOp(1.2, 7, "o-18", history.Ok), chargeOp(1.3, 9, "o-18", history.Ok),
		chargeOp(2, 3, "o-19", history.Ok))...)
	r := Payment(h, "lock")
	if r.Status != Invalid || r.AnomalyCount != 2 {
		t.Fatalf("%s with %d anomalies, want invalid with 2", r.Status, r.AnomalyCount)
	}
	a := r.Anomalies[0]
	want := "Order o-17 was charged twice: by process 3 at 0.000s (token 5) and by process 7 at 0.000s (token 6)."
	if a.Kind != KindDoubleCharge || a.Key != "o-17" || a.Explanation != want {
		t.Errorf("first anomaly %s %s %q, want %s o-17 %q", a.Kind, a.Key, a.Explanation, KindDoubleCharge, want)
	}
	if b := r.Anomalies[1]; b.Key != "o-18" || !strings.Contains(b.Explanation, "three times") || len(b.Processes) != 3 {
		t.Errorf("second anomaly %+v, want o-18 charged three times", b)
	}
	var d PaymentDetails
	mustUnmarshal(t, r.Details, &d)
	if d.Orders != 3 || d.ExtraCharges != 3 {
		t.Errorf("details %+v, want 3 orders and 3 extra charges", d)
	}
}
