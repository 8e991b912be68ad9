package checker

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

func TestContentionKeysRoundTrip(t *testing.T) {
	for _, way := range Ways {
		for _, n := range []int{1, 16, 256} {
			got, m, ok := ParseContentionKey(ContentionKey(way, n))
			if !ok || got != way || m != n {
				t.Errorf("ParseContentionKey(%q) = %q, %d, %v", ContentionKey(way, n), got, m, ok)
			}
		}
	}
	for _, k := range []string{"item-0", "item-lock", "item-lock-c", "item-lock-c0", "item-magic-c4", "lock-c4", "item-lock-cx"} {
		if _, _, ok := ParseContentionKey(k); ok {
			t.Errorf("ParseContentionKey(%q) accepted a key that is not a phase's", k)
		}
	}
}

// contentionDetails runs the checker and decodes its details.
func contentionDetails(t *testing.T, h history.History) (Result, ContentionDetails) {
	t.Helper()
	r := Contention(h)
	var d ContentionDetails
	if err := json.Unmarshal(r.Details, &d); err != nil {
		t.Fatal(err)
	}
	if r.Status != Valid {
		t.Fatalf("the contention checker decided %s; it only measures", r.Status)
	}
	return r, d
}

// A lock phase: the latency of a deduction runs from its first acquire,
// busy ones included, to the write's ok; the release and the liveness
// probe after the run do not stretch the phase.
func TestContentionMeasuresLockAttemptsFromTheFirstAcquire(t *testing.T) {
	lk, item := ContentionLockKey(2), ContentionKey(WayLock, 2)
	h := hist(t,
		inv(0, 0, history.FAcquire, lk), inv(0, 1, history.FAcquire, lk),
		ok(1, 0, history.FAcquire, lk),
		inv(2, 0, history.FRead, item), ok(3, 0, history.FRead, item, value("10")),
		inv(4, 0, history.FWrite, item, value("9")), ok(5, 0, history.FWrite, item, value("9")),
		inv(6, 0, history.FRelease, lk),
		fail(6.5, 1, history.FAcquire, lk, errText("lock not acquired")),
		ok(7, 0, history.FRelease, lk),
		inv(8, 1, history.FAcquire, lk), ok(9, 1, history.FAcquire, lk),
		inv(10, 1, history.FRead, item), ok(11, 1, history.FRead, item, value("9")),
		inv(12, 1, history.FWrite, item, value("8")), ok(20, 1, history.FWrite, item, value("8")),
		inv(21, 1, history.FRelease, lk), ok(22, 1, history.FRelease, lk),
		// The liveness probe, long after.
		inv(5000, 9, history.FAcquire, lk), ok(5001, 9, history.FAcquire, lk),
	)
	_, d := contentionDetails(t, h)
	if len(d.Points) != 1 {
		t.Fatalf("points %+v", d.Points)
	}
	p := d.Points[0]
	if p.Way != WayLock || p.Clients != 2 || p.Deductions != 2 || p.Retries != 1 {
		t.Fatalf("point %+v", p)
	}
	if p.Seconds != 0.02 {
		t.Errorf("the phase lasted %gs, want 0.02 (first invoke to last deduction)", p.Seconds)
	}
	// Process 1 tried from 0 ms (busy), then again from 8 ms: its
	// deduction took 20 ms; process 0's took 5 ms.
	if p.P50Ms != 5 || p.P99Ms != 20 {
		t.Errorf("latency p50 %g p99 %g, want 5 and 20", p.P50Ms, p.P99Ms)
	}
}

// An optimistic phase counts a lost conflict as a retry, and the
// deduction's latency runs from the read of its first try.
func TestContentionCountsConflictsAsRetries(t *testing.T) {
	item := ContentionKey(WayOptimistic, 1)
	h := hist(t,
		inv(0, 0, history.FRead, item), ok(1, 0, history.FRead, item, value("5")),
		inv(2, 0, history.FWrite, item, value("4")), fail(3, 0, history.FWrite, item, errText("conflict")),
		inv(4, 0, history.FRead, item), ok(5, 0, history.FRead, item, value("4")),
		inv(6, 0, history.FWrite, item, value("3")), ok(10, 0, history.FWrite, item, value("3")),
	)
	_, d := contentionDetails(t, h)
	p := d.Points[0]
	if p.Deductions != 1 || p.Retries != 1 || p.P50Ms != 10 {
		t.Fatalf("point %+v: want 1 deduction, 1 retry, 10 ms", p)
	}
}

// sweep makes a history of phases with the given deductions a second:
// each deduction a write of its own process, in one second.
func sweep(t *testing.T, rates map[string][]int, clients []int) history.History {
	t.Helper()
	var ops []history.Op
	start := 0.0
	proc := 0
	for i, n := range clients {
		for _, way := range Ways {
			rs, has := rates[way]
			if !has {
				continue
			}
			item := ContentionKey(way, n)
			k := rs[i]
			for j := 0; j < k; j++ {
				t0 := start + float64(j)*1000/float64(k)
				ops = append(ops, inv(t0, proc, history.FWrite, item), ok(t0+1000/float64(k)*0.9, proc, history.FWrite, item, value("1")))
			}
			proc++
			start += 1000
		}
	}
	return hist(t, ops...)
}

// The ratios compare at 16 clients; the knee is the fewest clients that
// made 80 % of the lock's best.
func TestContentionRatiosAndKnee(t *testing.T) {
	clients := []int{1, 2, 4, 8, 16, 32}
	h := sweep(t, map[string][]int{
		WayLock:       {100, 150, 190, 200, 195, 185},
		WayOptimistic: {150, 250, 350, 380, 390, 300},
		WayAtomic:     {300, 600, 1000, 1600, 1950, 2500},
	}, clients)
	r, d := contentionDetails(t, h)
	if len(d.Points) != 18 {
		t.Fatalf("%d points", len(d.Points))
	}
	if d.At != 16 {
		t.Errorf("ratios at %d clients, want 16", d.At)
	}
	if got := d.Ratios[WayAtomic]; got < 9.9 || got > 10.1 {
		t.Errorf("atomic ratio %g, want about 10 (1950/195)", got)
	}
	if got := d.Ratios[WayOptimistic]; got < 1.9 || got > 2.1 {
		t.Errorf("optimistic ratio %g, want about 2", got)
	}
	if d.LockKnee != 4 {
		t.Errorf("knee at %d clients, want 4: 150/s at 2 is 75 %% of the best 200/s, 190/s at 4 is 95 %%", d.LockKnee)
	}
	for _, want := range []string{"At 16 clients", "the atomic decrement 10.0×", "knee"} {
		if !strings.Contains(r.Summary, want) {
			t.Errorf("summary %q lacks %q", r.Summary, want)
		}
	}
}

// Without 16 clients the ratios fall back to the nearest number below.
func TestContentionRatiosFallBackBelowSixteen(t *testing.T) {
	h := sweep(t, map[string][]int{WayLock: {100, 100, 100}, WayAtomic: {100, 400, 800}}, []int{1, 4, 8})
	_, d := contentionDetails(t, h)
	if d.At != 8 || d.Ratios[WayAtomic] < 7.9 {
		t.Fatalf("at %d ratios %v, want 8 clients and about 8×", d.At, d.Ratios)
	}
	if _, ok := d.Ratios[WayOptimistic]; ok {
		t.Errorf("a ratio for a way that was not measured: %v", d.Ratios)
	}
}

func TestContentionWithoutPhasesSaysSo(t *testing.T) {
	h := hist(t, inv(0, 0, history.FAcquire, "lock-0"), ok(1, 0, history.FAcquire, "lock-0"))
	r, d := contentionDetails(t, h)
	if len(d.Points) != 0 || !strings.Contains(r.Summary, "No contention phase") {
		t.Fatalf("%s %+v", r.Summary, d)
	}
}
