package checker

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// KindDoubleCharge: one order was charged more than once.
const KindDoubleCharge = "double-charge"

// PaymentDetails are the figures of the payment checker.
type PaymentDetails struct {
	// Variant is the workload variant: lock, idempotency-key or both.
	Variant string `json:"variant"`
	// Orders is the number of orders that were read or charged.
	Orders int `json:"orders"`
	// Charges counts the charges that returned ok.
	Charges int `json:"charges"`
	// Indeterminate counts charges without a known outcome: each may or
	// may not have happened.
	Indeterminate int `json:"indeterminate"`
	// DoubleCharges counts the orders that were certainly charged more
	// than once.
	DoubleCharges int `json:"double_charges"`
	// ExtraCharges counts the charges beyond the first on those orders.
	ExtraCharges int `json:"extra_charges"`
	// PossibleDoubleCharges counts the orders that were charged more than
	// once only if an indeterminate charge happened.
	PossibleDoubleCharges int `json:"possible_double_charges"`
	// RejectedDuplicates counts charges that the resource's unique
	// idempotency key refused.
	RejectedDuplicates int `json:"rejected_duplicates"`
	// Fenced counts reads and charges the resource rejected for a stale
	// fencing token.
	Fenced int `json:"fenced"`
	// Uncharged counts the orders that were seen but never charged.
	Uncharged int `json:"uncharged"`
}

// IsDuplicateRejection reports whether a failed charge's error says that
// the resource refused it because the order's idempotency key was already
// used. The resource's convention is "duplicate idempotency key".
func IsDuplicateRejection(errText string) bool {
	return strings.Contains(strings.ToLower(errText), "duplicate idempotency key")
}

type chargeEvent struct {
	proc      int
	inv, done int64
	op        int
	token     *int64
}

type orderCharges struct {
	ok    []chargeEvent
	maybe int
	seen  int // history index of the first op, for ordering
}

// Payment checks that every order was charged at most once. A charge that
// returned ok certainly happened; a charge without a known outcome (info, or
// no completion) may have happened, so an order is double-charged only
// when at least two of its charges returned ok, and merely possibly
// double-charged when an indeterminate charge would make two. Charges that
// failed, because the idempotency key was already used or the fencing token
// was stale, did not happen. Each double-charged order is one anomaly.
// variant is only reported.
func Payment(h history.History, variant string) Result {
	begin := time.Now()
	res := Result{Checker: NamePayment}
	d := PaymentDetails{Variant: variant}
	orders := map[string]*orderCharges{}
	var ids []string
	for _, op := range Pair(h) {
		in, done := op.Invoke, op.Done
		if in.F != history.FCharge && in.F != history.FRead {
			continue
		}
		oc := orders[in.Key]
		if oc == nil {
			oc = &orderCharges{seen: in.Index}
			orders[in.Key] = oc
			ids = append(ids, in.Key)
		}
		if done.Type == history.Fail && IsFencingRejection(done.Error) {
			d.Fenced++
			continue
		}
		if in.F != history.FCharge {
			continue
		}
		switch done.Type {
		case history.Ok:
			tok := done.Token
			if tok == nil {
				tok = in.Token
			}
			oc.ok = append(oc.ok, chargeEvent{proc: in.Process, inv: in.Time, done: done.Time, op: done.Index, token: tok})
			d.Charges++
		case history.Info:
			oc.maybe++
			d.Indeterminate++
		case history.Fail:
			if IsDuplicateRejection(done.Error) {
				d.RejectedDuplicates++
			}
		}
	}
	d.Orders = len(ids)
	var found []Anomaly
	for _, id := range ids {
		oc := orders[id]
		switch {
		case len(oc.ok) >= 2:
			sort.SliceStable(oc.ok, func(a, b int) bool { return oc.ok[a].done < oc.ok[b].done })
			d.DoubleCharges++
			d.ExtraCharges += len(oc.ok) - 1
			found = append(found, doubleCharge(id, oc.ok))
		case len(oc.ok)+oc.maybe >= 2:
			d.PossibleDoubleCharges++
		case len(oc.ok)+oc.maybe == 0:
			d.Uncharged++
		}
	}
	res.AnomalyCount = len(found)
	res.Anomalies = keepEarliest(found, DefaultMaxAnomalies)
	res.Details = mustJSON(d)
	res.Status, res.Summary = paymentSummary(d)
	res.Millis = time.Since(begin).Milliseconds()
	return res
}

func paymentSummary(d PaymentDetails) (Status, string) {
	var extra []string
	if d.RejectedDuplicates > 0 {
		extra = append(extra, fmt.Sprintf("the idempotency key rejected %s", Plural(d.RejectedDuplicates, "duplicate charge")))
	}
	if d.Fenced > 0 {
		extra = append(extra, fmt.Sprintf("fencing rejected %s by stale holders", Plural(d.Fenced, "resource access")))
	}
	if d.PossibleDoubleCharges > 0 {
		extra = append(extra, fmt.Sprintf("%s may have been charged twice through an indeterminate charge",
			Plural(d.PossibleDoubleCharges, "order")))
	}
	tail := ""
	if len(extra) > 0 {
		tail = "; " + joinWords(extra)
	}
	if d.DoubleCharges == 0 {
		return Valid, fmt.Sprintf("No order was charged twice (%s for %s)%s.",
			Plural(d.Charges, "charge"), Plural(d.Orders, "order"), tail)
	}
	return Invalid, fmt.Sprintf("%d of %s %s charged more than once (%s too many)%s.",
		d.DoubleCharges, Plural(d.Orders, "order"), wlWasWere(d.DoubleCharges), Plural(d.ExtraCharges, "charge"), tail)
}

func wlWasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

func doubleCharge(id string, cs []chargeEvent) Anomaly {
	an := Anomaly{Kind: KindDoubleCharge, Key: id, Start: cs[0].inv, End: cs[0].done}
	var who []string
	for _, c := range cs {
		an.Processes = append(an.Processes, c.proc)
		an.Ops = append(an.Ops, c.op)
		an.Start, an.End = min(an.Start, c.inv), max(an.End, c.done)
		who = append(who, fmt.Sprintf("by process %d at %s%s", c.proc, history.FormatTime(c.done), wlTokenPhrase(c.token)))
	}
	times := "twice"
	switch len(cs) {
	case 2:
	case 3:
		times = "three times"
	default:
		times = fmt.Sprintf("%d times", len(cs))
	}
	an.Explanation = fmt.Sprintf("Order %s was charged %s: %s.", id, times, joinWords(who))
	return an
}
