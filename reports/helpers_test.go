package reports

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

// builder makes hand-written histories readable: times are in milliseconds.
type builder struct{ h history.History }

func (b *builder) add(ms float64, p int, typ history.Type, f, key string, mods ...func(*history.Op)) int {
	o := history.Op{Index: len(b.h), Time: int64(ms * 1e6), Process: p, Type: typ, F: f, Key: key}
	for _, m := range mods {
		m(&o)
	}
	b.h = append(b.h, o)
	return o.Index
}

func tok(t int64) func(*history.Op)           { return func(o *history.Op) { o.Token = history.Tok(t) } }
func lease(d time.Duration) func(*history.Op) { return func(o *history.Op) { o.Lease = int64(d) } }
func errMsg(s string) func(*history.Op)       { return func(o *history.Op) { o.Error = s } }
func value(v string) func(*history.Op)        { return func(o *history.Op) { o.Value = json.RawMessage(v) } }
func nemesisOp(b *builder, ms float64, f, v string) int {
	return b.add(ms, history.NemesisProcess, history.Info, f, "", value(v))
}

// overlapHistory is the classic failure: p0 holds lock-a with a 2 s lease,
// a partition starts, p0's lease runs out while it still acts, p1 is
// granted the lock and both hold it from 2.6 s to 3.2 s. With overlap
// false, p1 waits for p0's release and the history is valid.
func overlapHistory(key string, overlap bool) history.History {
	b := &builder{}
	b.add(100, 0, history.Invoke, history.FAcquire, key, lease(2*time.Second))
	b.add(120, 0, history.Ok, history.FAcquire, key, tok(1), lease(2*time.Second))
	b.add(300, 0, history.Invoke, history.FWrite, "res-a", tok(1))
	b.add(310, 0, history.Ok, history.FWrite, "res-a", tok(1))
	nemesisOp(b, 1500, "start-partition", `{"mode":"halves","nodes":["n1","n2"]}`)
	b.add(1600, 1, history.Invoke, history.FAcquire, key, lease(2*time.Second))
	b.add(1650, 1, history.Fail, history.FAcquire, key, errMsg("lock is held"))
	grant := 2500.0
	if !overlap {
		grant = 3300
	}
	b.add(grant, 1, history.Invoke, history.FAcquire, key, lease(2*time.Second))
	b.add(grant+100, 1, history.Ok, history.FAcquire, key, tok(2), lease(2*time.Second))
	b.add(3000, 2, history.Invoke, history.FAcquire, key, lease(2*time.Second))
	if overlap {
		b.add(2800, 0, history.Invoke, history.FWrite, "res-a", tok(1))
		b.add(2810, 0, history.Fail, history.FWrite, "res-a", tok(1), errMsg("stale token 1 < 2"))
	}
	b.add(3200, 0, history.Invoke, history.FRelease, key)
	b.add(4000, 2, history.Info, history.FAcquire, key, errMsg("connection reset"))
	b.add(4200, 0, history.Info, history.FRelease, key, errMsg("timeout"))
	nemesisOp(b, 4500, "stop-partition", `{}`)
	b.add(5000, 1, history.Invoke, history.FRelease, key)
	b.add(5010, 1, history.Ok, history.FRelease, key)
	b.add(5100, 3, history.Invoke, history.FAcquire, key, lease(2*time.Second))
	b.add(5120, 3, history.Ok, history.FAcquire, key, tok(3))
	b.add(5600, 3, history.Invoke, history.FRelease, key)
	b.add(5610, 3, history.Ok, history.FRelease, key)
	sortByTime(b.h)
	return b.h
}

// sortByTime restores index order after a builder wrote ops out of order.
func sortByTime(h history.History) {
	for i := 1; i < len(h); i++ {
		for j := i; j > 0 && h[j].Time < h[j-1].Time; j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
	for i := range h {
		h[i].Index = i
	}
}

// runResult describes the overlap history the way the harness would.
func runResult(key string, overlap bool) store.RunResult {
	res := store.RunResult{
		ID: "20250101T120000Z", Cell: "redis-mutex-partition", Status: checker.Valid,
		Summary: "Mutual exclusion held on every key through 1 partition.",
		Command: "lockstorm run --target redis --workload mutex --nemesis partition --seed 42 --time-limit 6s",
		Plan: plan.Plan{Target: "redis", Client: plan.ClientGo, Workload: "mutex", Nemeses: []string{"partition"}, TimeLimit: 6 * time.Second,
			Concurrency: 3, Rate: 10, NemesisInterval: 3 * time.Second, Seed: 42,
			Nodes: []plan.Node{{Name: "n1"}, {Name: "n2"}, {Name: "n3"}}, TTL: 2 * time.Second, Lease: 2 * time.Second,
			Hold: time.Second, Wait: 2 * time.Second, OpTimeout: 7 * time.Second,
			Keys: 1, Fencing: true, Options: map[string]string{"redis.fsync": "always"},
			Schedule: plan.Schedule{Seed: 42, Events: []plan.Event{{Nemesis: "partition", Mode: "halves",
				Targets: []string{"n1", "n2"}, Start: 1500 * time.Millisecond, Duration: 3 * time.Second,
				Params: map[string]string{"shape": "halves"}}}}},
		Started: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC), Duration: 6 * time.Second, Ops: 24, FirstViolation: -1,
		Notes: []store.Note{{Kind: "clock", Text: "Clock faults do not apply to this target."}},
	}
	me := checker.Result{Checker: "mutual-exclusion", Status: checker.Valid, Summary: "No two holds overlapped."}
	if overlap {
		res.Status = checker.Invalid
		res.Summary = "Two clients held " + key + " at once for 600ms during a partition."
		res.FirstViolation = 2600e6
		me.Status = checker.Invalid
		me.Summary = "1 overlap of holds."
		me.AnomalyCount = 1
		me.Anomalies = []checker.Anomaly{{Kind: checker.KindOutlivedLease, Key: key, Processes: []int{0, 1},
			Start: 2600e6, End: 3200e6, Ops: []int{1, 8, 11}, Faults: []string{"partition"},
			Explanation: "p1 was granted " + key + " at 2.600s while p0, whose 2s lease ran out at 2.120s, held on until 3.200s."}}
	}
	fencing := checker.Result{Checker: "fencing", Status: checker.Valid, Summary: "Fencing rejected every stale write.",
		Details: json.RawMessage(`{"stale_rejected":1,"stale_accepted":0,"writes":3}`)}
	if !overlap {
		fencing.Details = json.RawMessage(`{"stale_rejected":0,"stale_accepted":0,"writes":2}`)
	}
	stats := checker.Result{Checker: "stats", Status: checker.Valid, Summary: "24 ops.",
		Details: json.RawMessage(`{"ops":24,"acquire_ok":4,"acquire_fail":1,"indeterminate":2,"latency_p50_ms":20}`)}
	res.Results = []checker.Result{me, fencing, stats}
	return res
}

// synthetic makes a long history of about n ops: procs clients looping
// acquire, write, release on a few keys, with failures, indeterminate ops,
// faults every 10 s and an overlap now and then.
func synthetic(n, procs int, seed int64) history.History {
	rng := rand.New(rand.NewSource(seed))
	var evs []history.Op
	perProc := n / procs
	next := procs
	for p0 := 0; p0 < procs; p0++ {
		p := p0
		t := int64(rng.Intn(1e8))
		var tk int64
		for i := 0; i < perProc; {
			key := fmt.Sprintf("lock-%d", p0)
			if p0 == 1 && rng.Float64() < 0.01 {
				key = "lock-0" // now and then client 1 takes client 0's lock: an overlap
			}
			lat := func() int64 { return int64(1e6 + rng.ExpFloat64()*5e6) }
			evs = append(evs, history.Op{Time: t, Process: p, Type: history.Invoke, F: history.FAcquire, Key: key, Lease: 2e9})
			t += lat()
			i += 2
			switch r := rng.Float64(); {
			case r < 0.1:
				evs = append(evs, history.Op{Time: t, Process: p, Type: history.Fail, F: history.FAcquire, Key: key, Error: "lock is held"})
				t += int64(rng.Intn(5e7))
				continue
			case r < 0.102:
				evs = append(evs, history.Op{Time: t, Process: p, Type: history.Info, F: history.FAcquire, Key: key, Error: "timeout"})
				p = next
				next++
				continue
			}
			tk++
			evs = append(evs, history.Op{Time: t, Process: p, Type: history.Ok, F: history.FAcquire, Key: key, Token: history.Tok(tk)})
			t += int64(rng.Intn(2e7))
			evs = append(evs, history.Op{Time: t, Process: p, Type: history.Invoke, F: history.FWrite, Key: key, Token: history.Tok(tk)})
			t += lat()
			evs = append(evs, history.Op{Time: t, Process: p, Type: history.Ok, F: history.FWrite, Key: key, Token: history.Tok(tk)})
			t += int64(rng.Intn(2e7))
			evs = append(evs, history.Op{Time: t, Process: p, Type: history.Invoke, F: history.FRelease, Key: key})
			t += lat()
			evs = append(evs, history.Op{Time: t, Process: p, Type: history.Ok, F: history.FRelease, Key: key})
			t += int64(rng.Intn(5e7))
			i += 4
		}
	}
	var end int64
	for _, o := range evs {
		end = max(end, o.Time)
	}
	names := []string{"partition", "pause", "clock", "kill"}
	for s, k := int64(5e9), 0; s+3e9 < end; s, k = s+10e9, k+1 {
		evs = append(evs, history.Op{Time: s, Process: -1, Type: history.Info, F: history.FStartPrefix + names[k%4], Value: json.RawMessage(`{"nodes":["n1"]}`)})
		evs = append(evs, history.Op{Time: s + 3e9, Process: -1, Type: history.Info, F: history.FStopPrefix + names[k%4]})
	}
	h := history.History(evs)
	stableSortByTime(h)
	for i := range h {
		h[i].Index = i
	}
	return h
}

func stableSortByTime(h history.History) {
	// A merge sort keeps each process's ops in order for equal times.
	if len(h) < 2 {
		return
	}
	mid := len(h) / 2
	a := append(history.History(nil), h[:mid]...)
	b := append(history.History(nil), h[mid:]...)
	stableSortByTime(a)
	stableSortByTime(b)
	i, j := 0, 0
	for k := range h {
		if j >= len(b) || (i < len(a) && a[i].Time <= b[j].Time) {
			h[k] = a[i]
			i++
		} else {
			h[k] = b[j]
			j++
		}
	}
}

// syntheticResult is a results.json for a synthetic history, with a few
// anomalies spread over it: the history's own overlaps first, then made-up
// ones at even times, each on a hold of its own, so that each is one
// incident.
func syntheticResult(h history.History, anomalies int) store.RunResult {
	res := runResult("lock-a", false)
	res.Ops = len(h)
	me := checker.Result{Checker: "mutual-exclusion", Status: checker.Invalid, Summary: fmt.Sprintf("%d overlaps.", anomalies), AnomalyCount: anomalies}
	d := derive(h)
	for i := 0; i < anomalies; i++ {
		// Ops name the two holds, as the checker's first op of an
		// overlap names the earlier hold.
		a := checker.Anomaly{Kind: checker.KindGrantedEarly, Key: "lock-0", Processes: []int{0, 1},
			Start: h.End() * int64(i) / int64(anomalies), Ops: []int{len(h) + 2*i, len(h) + 2*i + 1}}
		a.End = a.Start + 5e6
		if i < len(d.overlaps) {
			o := d.overlaps[i]
			a.Key, a.Processes, a.Start, a.End = o.key, []int{d.holds[o.a].process, d.holds[o.b].process}, o.start, o.end
			a.Ops = []int{o.a, o.b}
		}
		a.Explanation = fmt.Sprintf("p%d was granted %s while p%d held it.", a.Processes[1], a.Key, a.Processes[0])
		me.Anomalies = append(me.Anomalies, a)
	}
	res.Results[0] = me
	res.Status = checker.Invalid
	return res
}
