package checker

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

// deduct is one server's read of stock r and write of w on key, as the
// inventory workload records them, from msec on.
func deduct(msec float64, p int, key string, r, w string, opts ...opt) []history.Op {
	return []history.Op{
		inv(msec, p, history.FRead, key, opts...), ok(msec+0.1, p, history.FRead, key, append(opts, value(r))...),
		inv(msec+1, p, history.FWrite, key, append(opts, value(w))...), ok(msec+1.1, p, history.FWrite, key, append(opts, value(w))...),
	}
}

func auditOf(msec float64, p int, key, v string) []history.Op {
	return []history.Op{inv(msec, p, history.FAudit, key), ok(msec+0.1, p, history.FAudit, key, value(v))}
}

// cat joins groups of records and puts them in time order.
func cat(parts ...[]history.Op) []history.Op {
	var out []history.Op
	for _, p := range parts {
		out = append(out, p...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time < out[j].Time })
	return out
}

func TestInventory(t *testing.T) {
	cases := []struct {
		name    string
		ops     []history.Op
		want    Status
		lost    int
		neg     int
		fenced  int
		deducts int
		final   int64
		noAudit bool
		kinds   []string
	}{
		{name: "serial deductions", want: Valid, deducts: 2, final: 98,
			ops: cat(deduct(0, 0, "item-0", "100", "99"), deduct(10, 1, "item-0", "99", "98"), auditOf(20, 2, "item-0", "98"))},
		{name: "two orders deducted from the same stock", want: Invalid, lost: 1, deducts: 2, final: 99,
			kinds: []string{KindLostUpdate},
			ops: []history.Op{
				inv(0, 0, history.FRead, "item-0"), ok(0.1, 0, history.FRead, "item-0", value("100")),
				inv(0.2, 1, history.FRead, "item-0"), ok(0.3, 1, history.FRead, "item-0", value("100")),
				inv(1, 0, history.FWrite, "item-0", value("99")), ok(1.1, 0, history.FWrite, "item-0", value("99")),
				inv(2, 1, history.FWrite, "item-0", value("99")), ok(2.1, 1, history.FWrite, "item-0", value("99")),
				inv(5, 2, history.FAudit, "item-0"), ok(5.1, 2, history.FAudit, "item-0", value("99")),
			}},
		{name: "no audit: duplicates are still found", want: Invalid, lost: 1, deducts: 2, noAudit: true,
			kinds: []string{KindLostUpdate},
			ops:   cat(deduct(0, 0, "item-0", "100", "99"), deduct(0.5, 1, "item-0", "100", "99"))},
		{name: "a stale write puts an older stock back", want: Invalid, lost: 2, deducts: 3, final: 99,
			kinds: []string{KindLostUpdate, KindLostUpdate},
			ops: []history.Op{
				inv(0, 0, history.FRead, "item-0"), ok(0.1, 0, history.FRead, "item-0", value("100")),
				inv(1, 1, history.FRead, "item-0"), ok(1.1, 1, history.FRead, "item-0", value("100")),
				inv(2, 1, history.FWrite, "item-0", value("99")), ok(2.1, 1, history.FWrite, "item-0", value("99")),
				inv(3, 2, history.FRead, "item-0"), ok(3.1, 2, history.FRead, "item-0", value("99")),
				inv(4, 2, history.FWrite, "item-0", value("98")), ok(4.1, 2, history.FWrite, "item-0", value("98")),
				inv(5, 0, history.FWrite, "item-0", value("99")), ok(5.1, 0, history.FWrite, "item-0", value("99")),
				inv(9, 3, history.FAudit, "item-0"), ok(9.1, 3, history.FAudit, "item-0", value("99")),
			}},
		{name: "stock below zero", want: Invalid, neg: 1, deducts: 2, final: -1, kinds: []string{KindNegativeStock},
			ops: []history.Op{
				inv(0, 0, history.FRead, "item-0"), ok(0.1, 0, history.FRead, "item-0", value("1")),
				inv(0.2, 1, history.FRead, "item-0"), ok(0.3, 1, history.FRead, "item-0", value("1")),
				inv(1, 0, history.FWrite, "item-0"), ok(1.1, 0, history.FWrite, "item-0", value("0")),
				inv(2, 1, history.FWrite, "item-0"), ok(2.1, 1, history.FWrite, "item-0", value("-1")),
				inv(5, 2, history.FAudit, "item-0"), ok(5.1, 2, history.FAudit, "item-0", value("-1")),
			}},
		{name: "fenced write is no deduction", want: Valid, fenced: 1, deducts: 1, final: 99,
			ops: []history.Op{
				inv(0, 0, history.FRead, "item-0", tok(1)), ok(0.1, 0, history.FRead, "item-0", tok(1), value("100")),
				inv(0.2, 1, history.FRead, "item-0", tok(2)), ok(0.3, 1, history.FRead, "item-0", tok(2), value("100")),
				inv(1, 1, history.FWrite, "item-0", tok(2), value("99")), ok(1.1, 1, history.FWrite, "item-0", tok(2), value("99")),
				inv(2, 0, history.FWrite, "item-0", tok(1), value("99")),
				fail(2.1, 0, history.FWrite, "item-0", tok(1), value("99"), errText("stale token 1 < 2")),
				inv(5, 2, history.FAudit, "item-0"), ok(5.1, 2, history.FAudit, "item-0", value("99")),
			}},
		{name: "indeterminate write that landed", want: Valid, deducts: 1, final: 98,
			ops: []history.Op{
				inv(0, 0, history.FRead, "item-0"), ok(0.1, 0, history.FRead, "item-0", value("100")),
				inv(1, 0, history.FWrite, "item-0", value("99")), info(1.1, 0, history.FWrite, "item-0", errText("timeout")),
				inv(2, 1, history.FRead, "item-0"), ok(2.1, 1, history.FRead, "item-0", value("99")),
				inv(3, 1, history.FWrite, "item-0", value("98")), ok(3.1, 1, history.FWrite, "item-0", value("98")),
				inv(5, 2, history.FAudit, "item-0"), ok(5.1, 2, history.FAudit, "item-0", value("98")),
			}},
		{name: "independent items", want: Valid, deducts: 2, final: 198,
			ops: cat(deduct(0, 0, "item-0", "100", "99"), deduct(0.5, 1, "item-1", "100", "99"),
				auditOf(5, 2, "item-0", "99"), auditOf(6, 2, "item-1", "99"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Inventory(hist(t, c.ops...), 100)
			var d InventoryDetails
			mustUnmarshal(t, r.Details, &d)
			if r.Status != c.want || d.LostUpdates != c.lost || d.Negative != c.neg || d.Fenced != c.fenced || d.Deductions != c.deducts {
				t.Errorf("got %s %+v (%s), want %s lost=%d negative=%d fenced=%d deductions=%d",
					r.Status, d, r.Summary, c.want, c.lost, c.neg, c.fenced, c.deducts)
			}
			switch {
			case c.noAudit && d.Final != nil:
				t.Errorf("final = %d, want none (no audit)", *d.Final)
			case !c.noAudit && (d.Final == nil || *d.Final != c.final):
				t.Errorf("final = %v, want %d", d.Final, c.final)
			}
			if strings.Join(kinds(r), ",") != strings.Join(c.kinds, ",") || r.AnomalyCount != len(c.kinds) {
				t.Errorf("anomalies %v (count %d), want %v", kinds(r), r.AnomalyCount, c.kinds)
			}
		})
	}
}

func TestInventoryNamesTheTwoOrders(t *testing.T) {
	h := hist(t, cat(deduct(0, 3, "item-0", "100", "99"), deduct(0.5, 7, "item-0", "100", "99"))...)
	r := Inventory(h, 100)
	if len(r.Anomalies) != 1 {
		t.Fatalf("anomalies %v, want one", r.Anomalies)
	}
	a := r.Anomalies[0]
	if len(a.Processes) != 2 || a.Processes[0] != 3 || a.Processes[1] != 7 || a.Key != "item-0" {
		t.Errorf("anomaly %+v, want processes 3 and 7 on item-0", a)
	}
	for _, want := range []string{"Two orders", "process 3", "process 7", "stock 99", "after reading 100"} {
		if !strings.Contains(a.Explanation, want) {
			t.Errorf("explanation %q lacks %q", a.Explanation, want)
		}
	}
}

func TestInventoryExplainsUndoneDeductions(t *testing.T) {
	// Process 0 read 100, stalled while 1 and 2 deducted twice, then wrote
	// 99: the stock ends one lower after three deductions.
	h := hist(t,
		inv(0, 0, history.FRead, "item-0"), ok(0.1, 0, history.FRead, "item-0", value("100")),
		inv(1, 1, history.FRead, "item-0"), ok(1.1, 1, history.FRead, "item-0", value("100")),
		inv(2, 1, history.FWrite, "item-0", value("99")), ok(2.1, 1, history.FWrite, "item-0", value("99")),
		inv(3, 2, history.FRead, "item-0"), ok(3.1, 2, history.FRead, "item-0", value("99")),
		inv(4, 2, history.FWrite, "item-0", value("98")), ok(4.1, 2, history.FWrite, "item-0", value("98")),
		inv(5, 0, history.FWrite, "item-0", value("99")), ok(5.1, 0, history.FWrite, "item-0", value("99")),
		inv(9, 3, history.FAudit, "item-0"), ok(9.1, 3, history.FAudit, "item-0", value("99")),
	)
	r := Inventory(h, 100)
	want := "The stock of item-0 fell from 100 to 99, by 1, although 3 deductions returned ok: besides the duplicated " +
		"stock values, 1 more deduction was undone by holders that wrote back a stock computed from a stale read."
	for _, a := range r.Anomalies {
		if strings.HasPrefix(a.Explanation, "The stock of") {
			if a.Explanation != want {
				t.Errorf("explanation %q, want %q", a.Explanation, want)
			}
			return
		}
	}
	t.Errorf("no anomaly for the undone deduction in %v", r.Anomalies)
}

// A real run of the contention workload's lock way on Redis under
// client-pause (--ttl 1s, 2026-12-02): a holder stalled past its TTL wrote
// back the stock it had read, undoing the deductions made meanwhile.
func TestRealContentionLockRunLostDeductions(t *testing.T) {
	h, err := history.ReadFile("testdata/real-redis-contention-lock-client-pause-outlived-lease-invalid.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	r := Inventory(h, 1_000_000)
	var d InventoryDetails
	if err := json.Unmarshal(r.Details, &d); err != nil {
		t.Fatal(err)
	}
	if r.Status != Invalid || d.LostUpdates != 6 || d.Deductions != 30 || d.Final == nil || *d.Final != 1_000_000-24 {
		t.Fatalf("%s: %s %+v", r.Status, r.Summary, d)
	}
	if !slices.ContainsFunc(r.Anomalies, func(a Anomaly) bool { return a.Kind == KindLostUpdate }) {
		t.Errorf("no lost-update anomaly: %+v", r.Anomalies)
	}
}
