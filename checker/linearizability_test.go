package checker

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/lockstorm/lockstorm/history"
)

// The reference checker is the plain, unsimplified model of DESIGN's rules,
// handed to porcupine whole: indeterminate acquires and releases are
// nondeterministic and never return, nothing is clipped or cut. The real
// checker must agree with it on every history.

type refInput struct {
	acquire, indeterminate bool
	proc                   int
	ret, invoked, lease    int64
	tok                    int64
	hasTok                 bool
}

func refModel() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Init: func() []interface{} { return []interface{}{freeState()} },
		Step: func(state, input, _ interface{}) []interface{} {
			s, in := state.(lockState), input.(refInput)
			var out []interface{}
			if in.indeterminate {
				out = append(out, s) // it may have had no effect
			}
			if in.acquire {
				if in.ret < s.floor {
					return out
				}
				n := s
				if s.holder >= 0 {
					if s.deadline == never || in.ret < s.deadline {
						return out
					}
					n.floor = max(n.floor, s.deadline)
				}
				if in.hasTok {
					if s.hasTok && in.tok <= s.tok {
						return out
					}
					n.tok, n.hasTok = in.tok, true
				}
				n.holder, n.deadline = in.proc, never
				if in.lease > 0 {
					n.deadline = addSat(in.invoked, in.lease)
				}
				return append(out, n)
			}
			if in.ret < s.floor || s.holder != in.proc {
				return out
			}
			n := s
			n.holder, n.deadline = -1, never
			return append(out, n)
		},
	}
	return nm.ToModel()
}

func refCheck(h history.History) porcupine.CheckResult {
	result := porcupine.Ok
	for _, ops := range plainOps(h) {
		// The unsimplified search can explode; such histories are skipped.
		switch porcupine.CheckOperationsTimeout(refModel(), ops, 2*time.Second) {
		case porcupine.Illegal:
			return porcupine.Illegal
		case porcupine.Unknown:
			result = porcupine.Unknown
		}
	}
	return result
}

// simConfig shapes a random history from a simulated lock service.
type simConfig struct {
	slots, opsPerSlot int
	lease             int64 // ms; 0 for no lease
	tokens            bool
	corrupt           float64 // chance that an outcome is falsified
	indeterminate     float64 // chance that an outcome is recorded as info
}

// simulate runs clients against a correct lock service, each operation
// taking effect at a random point inside its interval, then falsifies some
// outcomes. Without falsified outcomes the history is linearizable.
func simulate(r *rand.Rand, cfg simConfig) history.History {
	type simOp struct {
		slot             int
		f                string
		call, point, ret int64
		proc             int
		outcome          history.Type
		tok              int64
		indet, noEffect  bool
	}
	var ops []*simOp
	for s := 0; s < cfg.slots; s++ {
		t := int64(r.IntN(20))
		for k := 0; k < cfg.opsPerSlot; k++ {
			f := acq
			if k%2 == 1 {
				f = rel
			}
			o := &simOp{slot: s, f: f, call: t}
			o.point = o.call + 1 + int64(r.IntN(30))
			o.ret = o.point + 1 + int64(r.IntN(30))
			t = o.ret + 1 + int64(r.IntN(40))
			ops = append(ops, o)
		}
	}
	// Decide which outcomes will be indeterminate, and so the process ids:
	// a slot moves to a new process after an info.
	next := cfg.slots
	procOf := make([]int, cfg.slots)
	for s := range procOf {
		procOf[s] = s
	}
	for _, o := range ops { // ops are grouped by slot, in slot order
		o.indet = r.Float64() < cfg.indeterminate
		o.noEffect = o.indet && r.IntN(2) == 0
		o.proc = procOf[o.slot]
		if o.indet {
			procOf[o.slot] = next
			next++
		}
	}
	// Apply effects in order of their points.
	byPoint := append([]*simOp(nil), ops...)
	sort.SliceStable(byPoint, func(i, j int) bool { return byPoint[i].point < byPoint[j].point })
	holder, expiry, counter := -1, int64(0), int64(0)
	for _, o := range byPoint {
		if holder >= 0 && cfg.lease > 0 && o.point >= expiry {
			holder = -1
		}
		o.outcome = history.Fail
		if o.noEffect {
			continue
		}
		switch o.f {
		case acq:
			if holder < 0 {
				counter++
				holder, o.tok, o.outcome = o.proc, counter, history.Ok
				expiry = o.point + cfg.lease + int64(r.IntN(5))
			}
		default:
			if holder == o.proc {
				holder, o.outcome = -1, history.Ok
			}
		}
	}
	// Falsify, and record the indeterminate outcomes.
	for _, o := range ops {
		if r.Float64() < cfg.corrupt {
			switch r.IntN(3) {
			case 0:
				if o.outcome == history.Ok {
					o.outcome = history.Fail
				} else {
					o.outcome = history.Ok
				}
			case 1:
				o.tok -= int64(1 + r.IntN(2))
			default:
				o.ret = o.call + 1 // returned before it took effect
			}
		}
		if o.indet {
			o.outcome = history.Info
		}
	}
	type event struct {
		t   int64
		seq int
		op  history.Op
	}
	var evs []event
	for i, o := range ops {
		in := history.Op{Time: o.call * 1e6, Process: o.proc, Type: history.Invoke, F: o.f, Key: "k"}
		if o.f == acq && cfg.lease > 0 {
			in.Lease = cfg.lease * 1e6
		}
		done := history.Op{Time: o.ret * 1e6, Process: o.proc, Type: o.outcome, F: o.f, Key: "k"}
		if o.f == acq && o.outcome == history.Ok && cfg.tokens {
			done.Token = history.Tok(o.tok)
		}
		evs = append(evs, event{in.Time, 2 * i, in})
		if r.Float64() > 0.03 || o.outcome != history.Info { // sometimes the history ends first
			evs = append(evs, event{done.Time, 2*i + 1, done})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].t != evs[j].t {
			return evs[i].t < evs[j].t
		}
		return evs[i].seq < evs[j].seq
	})
	h := make(history.History, len(evs))
	for i, e := range evs {
		e.op.Index = i
		h[i] = e.op
	}
	return dropAfterInfo(h)
}

// dropAfterInfo removes the records of a process after its info, and
// completions whose invoke was removed, so the history keeps the format's
// rules even when a falsified return time reorders a slot.
func dropAfterInfo(h history.History) history.History {
	retired := map[int]bool{}
	pending := map[int]bool{}
	var out history.History
	for _, o := range h {
		if retired[o.Process] {
			continue
		}
		if o.Type == history.Invoke {
			if pending[o.Process] {
				continue
			}
			pending[o.Process] = true
		} else {
			if !pending[o.Process] {
				continue
			}
			pending[o.Process] = false
			if o.Type == history.Info {
				retired[o.Process] = true
			}
		}
		o.Index = len(out)
		out = append(out, o)
	}
	return out
}

// simplifiedCheck runs the checker's own model on the simplified
// operations of each key, without clipping or cutting.
func simplifiedCheck(h history.History) porcupine.CheckResult {
	result := porcupine.Ok
	for _, ko := range lockOps(h, pairLinks(h)) {
		switch porcupine.CheckOperationsTimeout(lockModel(freeState()), porcOps(ko.ops, nil), 30*time.Second) {
		case porcupine.Illegal:
			return porcupine.Illegal
		case porcupine.Unknown:
			result = porcupine.Unknown
		}
	}
	return result
}

func verdictOf(r porcupine.CheckResult) Status {
	switch r {
	case porcupine.Ok:
		return Valid
	case porcupine.Illegal:
		return Invalid
	}
	return Unknown
}

func dump(h history.History) string {
	var b strings.Builder
	for _, o := range h {
		fmt.Fprintln(&b, o.String())
	}
	return b.String()
}

func TestLinearizabilityAgreesWithUnsimplifiedReference(t *testing.T) {
	configs := []simConfig{
		{slots: 3, opsPerSlot: 6, tokens: true, corrupt: 0.05, indeterminate: 0.1},
		{slots: 4, opsPerSlot: 6, corrupt: 0.08, indeterminate: 0.15},
		{slots: 3, opsPerSlot: 8, lease: 40, tokens: true, corrupt: 0.05, indeterminate: 0.1},
		{slots: 4, opsPerSlot: 6, lease: 25, corrupt: 0.1, indeterminate: 0.2},
		{slots: 5, opsPerSlot: 4, lease: 60, tokens: true, corrupt: 0, indeterminate: 0.2},
		{slots: 2, opsPerSlot: 10, lease: 15, corrupt: 0.1, indeterminate: 0.1},
		{slots: 4, opsPerSlot: 4, lease: 8, corrupt: 0.15, indeterminate: 0.1},
		{slots: 3, opsPerSlot: 6, lease: 5, tokens: true, corrupt: 0.1, indeterminate: 0.05},
		{slots: 4, opsPerSlot: 6, lease: 5, tokens: true, corrupt: 0.05, indeterminate: 0.25},
	}
	n := 400
	if s := os.Getenv("LOCKSTORM_RANDOM_HISTORIES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		n = 60
	}
	counts := map[Status]int{}
	for ci, cfg := range configs {
		r := rand.New(rand.NewPCG(uint64(ci), 42))
		for i := 0; i < n; i++ {
			h := simulate(r, cfg)
			want := verdictOf(refCheck(h))
			if want == Unknown {
				continue
			}
			counts[want]++
			for _, minPiece := range []int{1, 3, 256} {
				got := linearizability(h, linConfig{budget: 20 * time.Second, minPiece: minPiece})
				if got.Skipped && want == Valid {
					continue // nothing completed: valid for the reference, not checked for us
				}
				if got.Status != want {
					t.Fatalf("config %d history %d, minPiece %d: got %s (%s), reference says %s\n%s",
						ci, i, minPiece, got.Status, got.Summary, want, dump(h))
				}
			}
			// Pieces too large to search are judged on their start: an
			// illegal start must mean an invalid history.
			small := linearizability(h, linConfig{budget: 20 * time.Second, minPiece: 2, maxPiece: 3})
			if small.Status == Invalid && want != Invalid || small.Status == Valid && want != Valid {
				t.Fatalf("config %d history %d, maxPiece 3: got %s (%s), reference says %s\n%s",
					ci, i, small.Status, small.Summary, want, dump(h))
			}
			if got := verdictOf(simplifiedCheck(h)); got != want {
				t.Fatalf("config %d history %d: simplified model without cuts says %s, reference says %s\n%s",
					ci, i, got, want, dump(h))
			}
			if cfg.corrupt == 0 && want != Valid {
				t.Fatalf("an honest simulated service gave an invalid history:\n%s", dump(h))
			}
		}
	}
	if counts[Valid] < n/4 || counts[Invalid] < n/4 {
		t.Errorf("the random histories are lopsided: %v", counts)
	}
	t.Logf("verdicts compared: %v", counts)
}

func TestCutsSplitLongHistoriesIntoSmallPieces(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	h := simulate(r, simConfig{slots: 6, opsPerSlot: 200, tokens: true, indeterminate: 0.02})
	res := linearizability(h, linConfig{budget: 20 * time.Second, minPiece: 1})
	if res.Status != Valid {
		t.Fatalf("status %s: %s", res.Status, res.Summary)
	}
	var d LinearizabilityDetails
	mustUnmarshal(t, res.Details, &d)
	if d.Pieces < d.Operations/20 || d.LargestPiece > 60 {
		t.Errorf("%d operations cut into %d pieces, the largest %d: the cuts are not working",
			d.Operations, d.Pieces, d.LargestPiece)
	}
}

func TestOversizedPieceIsJudgedOnItsStart(t *testing.T) {
	// Every process acquires and nobody ever releases: no cut exists, and
	// the first overlap comes early.
	var ops []history.Op
	for p := 0; p < 300; p++ {
		ops = append(ops, inv(float64(2*p), p, acq, "k"), ok(float64(2*p+1), p, acq, "k"))
	}
	h := hist(t, ops...)
	res := linearizability(h, linConfig{budget: 20 * time.Second, maxPiece: 50})
	if res.Status != Invalid {
		t.Fatalf("status %s: %s", res.Status, res.Summary)
	}
	if a := res.Anomalies[0]; a.End > at(10) {
		t.Errorf("window [%d, %d] was not narrowed to the first overlap", a.Start, a.End)
	}
}

func TestBudgetTurnsLongSearchIntoUnknown(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	h := simulate(r, simConfig{slots: 6, opsPerSlot: 100, tokens: true, indeterminate: 0.02})
	res := linearizability(h, linConfig{budget: time.Nanosecond})
	if res.Status != Unknown {
		t.Fatalf("status %s with a spent budget: %s", res.Status, res.Summary)
	}
	if !strings.Contains(res.Summary, "ran out of time") {
		t.Errorf("summary %q does not say why", res.Summary)
	}
}

func TestMalformedKeyIsUnknown(t *testing.T) {
	h := hist(t,
		inv(0, 1, acq, "k"), info(10, 1, acq, "k"),
		inv(20, 1, rel, "k"), ok(30, 1, rel, "k"))
	res := Linearizability(h, time.Second)
	if res.Status != Unknown || !strings.Contains(res.Summary, "after an indeterminate operation") {
		t.Errorf("status %s: %s", res.Status, res.Summary)
	}
}

func TestNotLinearizableExplanationNamesTheStuckOperation(t *testing.T) {
	h := hist(t,
		inv(0, 1, acq, "k"), ok(10, 1, acq, "k"),
		inv(20, 1, rel, "k"), fail(21, 1, rel, "k"),
		inv(30, 2, acq, "k"), ok(40, 2, acq, "k"))
	res := Linearizability(h, time.Second)
	if res.Status != Invalid || len(res.Anomalies) != 1 {
		t.Fatalf("status %s anomalies %v", res.Status, res.Anomalies)
	}
	want := "On key k, no order of the 2 lock operations between 0.000s and 0.040s (processes 1 and 2) obeys the lock's rules: " +
		"the longest legal order places 1 of them and cannot go on with process 2's acquire that returned ok at 0.040s."
	if got := res.Anomalies[0].Explanation; got != want {
		t.Errorf("explanation\n got %q\nwant %q", got, want)
	}
}

func TestModelKeepsLeaseTimesAlongTheOrder(t *testing.T) {
	// Leases may end at 15 (A), 10 (B) and 21 (C). The order A, B, C looks
	// legal step by step (B.ret 25 >= 15, C.ret 12 >= 10), but B's point is
	// then >= 15 and C's must follow it, after C returned at 12. Every
	// other order breaks a lease too, so there is no legal order; the
	// model must see it even without the cuts' help.
	h := hist(t,
		inv(0, 2, acq, "k", lease(10)), inv(5, 1, acq, "k", lease(10)),
		inv(11, 3, acq, "k", lease(10)), ok(12, 3, acq, "k"), ok(16, 1, acq, "k"), ok(25, 2, acq, "k"))
	if got := refCheck(h); got != porcupine.Illegal {
		t.Fatalf("reference says %s", got)
	}
	if got := simplifiedCheck(h); got != porcupine.Illegal {
		t.Errorf("model without cuts says %s", got)
	}
	if got := linTest(h); got.Status != Invalid {
		t.Errorf("checker says %s", got.Status)
	}
}

func TestConflictDecidesWhereThePieceIsTooLargeToSearch(t *testing.T) {
	h := hist(t,
		inv(0, 1, acq, "k"), ok(10, 1, acq, "k", tok(1)),
		inv(20, 2, acq, "k"), ok(30, 2, acq, "k", tok(2)))
	res := linearizability(h, linConfig{budget: 20 * time.Second, minPiece: 100, maxPiece: 1})
	if res.Status != Invalid || len(res.Anomalies) != 1 {
		t.Fatalf("status %s (%s) anomalies %v", res.Status, res.Summary, res.Anomalies)
	}
	want := "On key k, process 2's acquire that returned ok at 0.030s with token 2 has no legal place: process 1 certainly " +
		"held the lock from 0.010s with token 1 until the end of the history (no release asked and no lease that could " +
		"run out before then), so no legal order exists."
	if got := res.Anomalies[0].Explanation; got != want {
		t.Errorf("explanation\n got %q\nwant %q", got, want)
	}
}
