package reports

import (
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

func TestSyntheticHistoriesAreValid(t *testing.T) {
	for _, h := range []history.History{overlapHistory("k", true), overlapHistory("k", false), synthetic(5000, 7, 1)} {
		v := history.NewValidator("synthetic")
		for _, o := range h {
			if err := v.Check(o); err != nil {
				t.Fatalf("builder made an invalid history: %v", err)
			}
		}
	}
}

func TestHoldsEndAtReleaseInvokeOrHistoryEnd(t *testing.T) {
	h := overlapHistory("lock-a", true)
	holds := computeHolds(h)
	got := map[int]hold{}
	for _, hd := range holds {
		got[hd.process] = hd
	}
	if len(holds) != 3 {
		t.Fatalf("got %d holds, want 3 (p0, p1, p3): %+v", len(holds), holds)
	}
	if p0 := got[0]; p0.start != 120e6 || p0.end != 3200e6 || p0.open {
		t.Errorf("p0 hold = %+v, want 120ms..3200ms, closed by its release invoke", p0)
	}
	if _, ok := got[2]; ok {
		t.Error("an indeterminate acquire was counted as a hold")
	}
	// A hold with no release lasts until the end of the history.
	b := &builder{}
	b.add(0, 0, history.Invoke, history.FAcquire, "k")
	b.add(10, 0, history.Ok, history.FAcquire, "k")
	b.add(50, 1, history.Invoke, history.FRead, "r")
	b.add(90, 1, history.Ok, history.FRead, "r")
	open := computeHolds(b.h)
	if len(open) != 1 || !open[0].open || open[0].end != 90e6 {
		t.Errorf("open hold = %+v, want open until 90ms", open)
	}
}

func TestOverlapsAreFoundAndMarked(t *testing.T) {
	d := derive(overlapHistory("lock-a", true))
	if len(d.overlaps) != 1 {
		t.Fatalf("got %d overlaps, want 1", len(d.overlaps))
	}
	o := d.overlaps[0]
	if o.start != 2600e6 || o.end != 3200e6 || o.key != "lock-a" {
		t.Errorf("overlap = %+v, want lock-a 2.6s..3.2s", o)
	}
	if !d.holds[o.a].red || !d.holds[o.b].red {
		t.Error("overlapping holds not marked red")
	}
	if valid := derive(overlapHistory("lock-a", false)); len(valid.overlaps) != 0 {
		t.Errorf("valid history has overlaps: %+v", valid.overlaps)
	}
}

func TestFaultWindowsPairStartAndStop(t *testing.T) {
	b := &builder{}
	nemesisOp(b, 100, "start-pause", `{"node":"n1"}`)
	nemesisOp(b, 110, "start-pause", `{"node":"n1"}`) // the ok of the same fault
	nemesisOp(b, 200, "start-partition", `{}`)
	nemesisOp(b, 300, "stop-pause", `{}`)
	nemesisOp(b, 400, "stop-clock", `{}`) // no matching start: ignored
	b.add(500, 0, history.Invoke, history.FRead, "r")
	ws := computeFaults(b.h)
	if len(ws) != 2 {
		t.Fatalf("got %d windows, want 2: %+v", len(ws), ws)
	}
	if ws[0].name != "pause" || ws[0].start != 100e6 || ws[0].end != 300e6 {
		t.Errorf("pause window = %+v", ws[0])
	}
	if ws[1].name != "partition" || ws[1].end != 500e6 {
		t.Errorf("unhealed partition should last until the end: %+v", ws[1])
	}
}

func TestPairsIncludeUncompletedInvokes(t *testing.T) {
	b := &builder{}
	b.add(0, 0, history.Invoke, history.FAcquire, "k")
	b.add(5, 0, history.Ok, history.FAcquire, "k")
	b.add(6, 1, history.Invoke, history.FAcquire, "k")
	ps := computePairs(b.h)
	if len(ps) != 2 {
		t.Fatalf("got %d pairs, want 2", len(ps))
	}
	if ps[0].latency() != 5e6 {
		t.Errorf("latency = %d, want 5ms", ps[0].latency())
	}
	if !ps[1].noDone || ps[1].done.Type != history.Info || ps[1].latency() != -1 {
		t.Errorf("uncompleted invoke should count as info with unknown latency: %+v", ps[1])
	}
}
