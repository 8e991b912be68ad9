package checker

import (
	"slices"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

const (
	acq = history.FAcquire
	rel = history.FRelease
)

// lockCase is one claim about the lock checkers on a hand-made history.
type lockCase struct {
	claim   string
	h       func(t *testing.T) history.History
	me      Status
	meKind  string // expected kind of every mutual-exclusion anomaly
	lin     Status
	overall Status
}

func lockCases() []lockCase {
	return []lockCase{
		{
			claim: "an indeterminate acquire followed by another client's grant is valid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), info(10, 1, acq, "k", errText("timeout")),
					inv(20, 2, acq, "k"), ok(30, 2, acq, "k"),
					inv(40, 2, rel, "k"), ok(50, 2, rel, "k"))
			},
			me: Valid, lin: Valid, overall: Valid,
		},
		{
			claim: "an indeterminate acquire concurrent with another client's whole hold is valid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), inv(5, 2, acq, "k"), ok(10, 2, acq, "k"),
					inv(20, 2, rel, "k"), ok(25, 2, rel, "k"), info(30, 1, acq, "k"),
					inv(40, 3, acq, "k"), ok(45, 3, acq, "k"), inv(50, 3, rel, "k"), ok(55, 3, rel, "k"))
			},
			me: Valid, lin: Valid, overall: Valid,
		},
		{
			claim: "two acquires that both return ok and cannot be ordered are invalid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), inv(1, 2, acq, "k"), ok(10, 1, acq, "k"), ok(11, 2, acq, "k"),
					inv(20, 1, rel, "k"), ok(21, 1, rel, "k"), inv(22, 2, rel, "k"), ok(23, 2, rel, "k"))
			},
			me: Invalid, meKind: KindOverlap, lin: Invalid, overall: Invalid,
		},
		{
			claim: "a release by a non-holder that returns ok is invalid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(10, 1, acq, "k"),
					inv(15, 2, rel, "k"), ok(16, 2, rel, "k"),
					inv(20, 1, rel, "k"), ok(21, 1, rel, "k"))
			},
			me: Invalid, meKind: KindBadRelease, lin: Invalid, overall: Invalid,
		},
		{
			claim: "a failed release followed by another client's grant, without ttl, is invalid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(10, 1, acq, "k"),
					inv(20, 1, rel, "k"), fail(21, 1, rel, "k", errText("connection refused")),
					inv(30, 2, acq, "k"), ok(40, 2, acq, "k"),
					inv(50, 2, rel, "k"), ok(60, 2, rel, "k"))
			},
			// The hold ends at the release invoke, so the sweep sees no
			// overlap; only the model knows the lock stayed held.
			me: Valid, lin: Invalid, overall: Invalid,
		},
		{
			claim: "an indeterminate release followed by another client's grant is valid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(10, 1, acq, "k"),
					inv(20, 1, rel, "k"), inv(25, 2, acq, "k"), info(30, 1, rel, "k", errText("timeout")),
					ok(40, 2, acq, "k"), inv(50, 2, rel, "k"), ok(60, 2, rel, "k"))
			},
			me: Valid, lin: Valid, overall: Valid,
		},
		{
			claim: "a token that goes backwards is invalid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(10, 1, acq, "k", tok(5)),
					inv(20, 1, rel, "k"), ok(30, 1, rel, "k"),
					inv(40, 2, acq, "k"), ok(50, 2, acq, "k", tok(3)),
					inv(60, 2, rel, "k"), ok(70, 2, rel, "k"))
			},
			me: Valid, lin: Invalid, overall: Invalid,
		},
		{
			claim: "independent keys held at the same time are valid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k1"), inv(0, 2, acq, "k2"), ok(10, 1, acq, "k1"), ok(10, 2, acq, "k2"),
					inv(20, 1, rel, "k1"), inv(20, 2, rel, "k2"), ok(30, 1, rel, "k1"), ok(30, 2, rel, "k2"))
			},
			me: Valid, lin: Valid, overall: Valid,
		},
		{
			claim: "a holder that never releases while another acquires is invalid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(10, 1, acq, "k"),
					inv(20, 2, acq, "k"), ok(30, 2, acq, "k"))
			},
			me: Invalid, meKind: KindOverlap, lin: Invalid, overall: Invalid,
		},
		{
			claim: "nemesis ops interleaved with lock ops are ignored by the lock checks",
			h: func(t *testing.T) history.History {
				return hist(t,
					nem(0, "start-partition", value(`{"nodes":["n1"]}`)),
					inv(1, 1, acq, "k"), nem(2, "start-pause"), ok(10, 1, acq, "k"),
					nem(12, "stop-partition"), inv(20, 1, rel, "k"), nem(21, "stop-pause"), ok(30, 1, rel, "k"),
					nem(31, "liveness-probe", value(`{"bound":1000000000}`)),
					inv(32, 2, acq, "k"), ok(33, 2, acq, "k"), inv(34, 2, rel, "k"), ok(35, 2, rel, "k"))
			},
			me: Valid, lin: Valid, overall: Valid,
		},
		{
			claim: "a second grant after the lease ran out while the first holder still acts is an outlived lease, yet linearizable",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k", lease(100)), ok(5, 1, acq, "k"),
					inv(150, 2, acq, "k", lease(100)), ok(160, 2, acq, "k"),
					inv(200, 1, rel, "k"), fail(201, 1, rel, "k", errText("lock already expired")),
					inv(210, 2, rel, "k"), ok(220, 2, rel, "k"))
			},
			me: Invalid, meKind: KindOutlivedLease, lin: Valid, overall: Invalid,
		},
		{
			claim: "a grant after a fault that may end the holder's session is an outlived session, and linearizable",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(5, 1, acq, "k"),
					nem(10, "start-conn-drop", value(`{"details":{"process":1,"sessions":[1]}}`)),
					inv(20, 2, acq, "k"), ok(30, 2, acq, "k"),
					inv(60, 1, rel, "k"), fail(61, 1, rel, "k", errText("not held")),
					nem(62, "stop-conn-drop"),
					inv(70, 2, rel, "k"), ok(75, 2, rel, "k"))
			},
			me: Invalid, meKind: KindOutlivedSession, lin: Valid, overall: Invalid,
		},
		{
			claim: "a session end takes effect from sessions_at, which comes before the fault's start op",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(5, 1, acq, "k"),
					inv(20, 2, acq, "k"), ok(30, 2, acq, "k"),
					nem(31, "start-conn-drop", value(`{"details":{"process":1,"sessions":[1],"sessions_at":10000000}}`)),
					inv(60, 1, rel, "k"), fail(61, 1, rel, "k", errText("not held")),
					nem(62, "stop-conn-drop"),
					inv(70, 2, rel, "k"), ok(75, 2, rel, "k"))
			},
			me: Invalid, meKind: KindOutlivedSession, lin: Valid, overall: Invalid,
		},
		{
			claim: "a sessions_at after the op itself is not believed: the op's time counts",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(5, 1, acq, "k"),
					inv(20, 2, acq, "k"), ok(30, 2, acq, "k"),
					nem(31, "start-conn-drop", value(`{"details":{"process":1,"sessions":[1],"sessions_at":50000000}}`)),
					inv(60, 1, rel, "k"), fail(61, 1, rel, "k", errText("not held")),
					inv(70, 2, rel, "k"), ok(75, 2, rel, "k"))
			},
			me: Invalid, meKind: KindOverlap, lin: Invalid, overall: Invalid,
		},
		{
			claim: "the same overlap when the fault names no session is the service granting a lock still held",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(5, 1, acq, "k"),
					nem(10, "start-conn-drop", value(`{"details":{"process":1}}`)),
					inv(20, 2, acq, "k"), ok(30, 2, acq, "k"),
					inv(60, 1, rel, "k"), fail(61, 1, rel, "k", errText("not held")),
					nem(62, "stop-conn-drop"),
					inv(70, 2, rel, "k"), ok(75, 2, rel, "k"))
			},
			me: Invalid, meKind: KindOverlap, lin: Invalid, overall: Invalid,
		},
		{
			claim: "a session end of another process than the holder does not excuse an overlap",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(5, 1, acq, "k"),
					nem(10, "start-partition", value(`{"details":{"sessions":[3]}}`)),
					inv(20, 2, acq, "k"), ok(30, 2, acq, "k"),
					inv(60, 1, rel, "k"), fail(61, 1, rel, "k"),
					inv(70, 2, rel, "k"), ok(75, 2, rel, "k"))
			},
			me: Invalid, meKind: KindOverlap, lin: Invalid, overall: Invalid,
		},
		{
			claim: "a holder whose release returned ok kept its session, whatever the fault: a grant during its hold is early",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(5, 1, acq, "k"),
					nem(10, "start-partition", value(`{"details":{"sessions":[1]}}`)),
					inv(20, 2, acq, "k"), ok(30, 2, acq, "k"),
					inv(60, 1, rel, "k"), ok(61, 1, rel, "k"),
					inv(70, 2, rel, "k"), ok(75, 2, rel, "k"))
			},
			me: Invalid, meKind: KindOverlap, lin: Invalid, overall: Invalid,
		},
		{
			claim: "a session end that no grant needed leaves a holder's ok release legal",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(5, 1, acq, "k"),
					nem(10, "start-partition", value(`{"details":{"sessions":[1]}}`)),
					inv(20, 1, rel, "k"), ok(30, 1, rel, "k"),
					nem(35, "stop-partition"),
					inv(40, 2, acq, "k"), ok(45, 2, acq, "k"),
					inv(50, 2, rel, "k"), ok(55, 2, rel, "k"))
			},
			me: Valid, lin: Valid, overall: Valid,
		},
		{
			claim: "a session end frees only the hold it cut: the holder's next grant, overlapped, is the service's fault",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(5, 1, acq, "k"),
					nem(10, "start-conn-drop", value(`{"details":{"sessions":[1]}}`)),
					inv(12, 1, rel, "k"), fail(13, 1, rel, "k"),
					inv(20, 2, acq, "k"), ok(22, 2, acq, "k"), inv(24, 2, rel, "k"), ok(26, 2, rel, "k"),
					inv(40, 1, acq, "k"), ok(45, 1, acq, "k"),
					inv(50, 3, acq, "k"), ok(55, 3, acq, "k"),
					inv(60, 1, rel, "k"), ok(61, 1, rel, "k"),
					inv(70, 3, rel, "k"), ok(75, 3, rel, "k"))
			},
			me: Invalid, meKind: KindOverlap, lin: Invalid, overall: Invalid,
		},
		{
			claim: "a session that ended during a long acquire may free the grant it returned",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"),
					nem(2, "start-partition", value(`{"details":{"sessions":[1]}}`)),
					ok(5, 1, acq, "k"),
					inv(20, 2, acq, "k"), ok(30, 2, acq, "k"),
					inv(60, 1, rel, "k"), fail(61, 1, rel, "k"),
					inv(70, 2, rel, "k"), ok(75, 2, rel, "k"))
			},
			me: Invalid, meKind: KindOutlivedSession, lin: Valid, overall: Invalid,
		},
		{
			claim: "a second grant before the lease could run out is granted early and not linearizable",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k", lease(100)), ok(5, 1, acq, "k"),
					inv(50, 2, acq, "k", lease(100)), ok(60, 2, acq, "k"),
					inv(200, 1, rel, "k"), fail(201, 1, rel, "k", errText("lock already expired")),
					inv(210, 2, rel, "k"), ok(220, 2, rel, "k"))
			},
			me: Invalid, meKind: KindGrantedEarly, lin: Invalid, overall: Invalid,
		},
		{
			claim: "a client crash (release invoke completed by info) then another grant after the ttl is valid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k", lease(100)), ok(5, 1, acq, "k"),
					inv(20, 1, rel, "k"), info(20, 1, rel, "k", errText("client crashed")),
					inv(150, 2, acq, "k", lease(100)), ok(160, 2, acq, "k"),
					inv(170, 2, rel, "k"), ok(180, 2, rel, "k"))
			},
			me: Valid, lin: Valid, overall: Valid,
		},
		{
			claim: "a stalled holder whose lease ran out, overtaken by a new grant, is an outlived lease",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k", lease(100)), ok(5, 1, acq, "k"),
					inv(120, 2, acq, "k", lease(100)), ok(125, 2, acq, "k"),
					inv(130, 2, rel, "k"), ok(135, 2, rel, "k"),
					inv(300, 1, rel, "k"), fail(301, 1, rel, "k", errText("lock already expired")))
			},
			me: Invalid, meKind: KindOutlivedLease, lin: Valid, overall: Invalid,
		},
		{
			claim: "lease deadlines hold along the whole order, not just between neighbours",
			h: func(t *testing.T) history.History {
				// A's lease may end at 15, B's at 10. C returned at 12,
				// before A's lease could end, and C cannot come before A
				// (A returned before C was invoked) nor right after B
				// without A after C. No legal order exists, although each
				// step alone looks legal when B is placed between A and C.
				return hist(t,
					inv(0, 2, acq, "k", lease(10)), inv(5, 1, acq, "k", lease(10)), ok(6, 1, acq, "k"),
					inv(11, 3, acq, "k", lease(10)), ok(12, 3, acq, "k"), ok(25, 2, acq, "k"))
			},
			me: Invalid, meKind: "", lin: Invalid, overall: Invalid,
		},
		{
			claim: "a blocked waiter granted right after the holder's release, before the release returns, is valid",
			h: func(t *testing.T) history.History {
				return hist(t,
					inv(0, 1, acq, "k"), ok(10, 1, acq, "k", tok(1)), inv(11, 2, acq, "k"), inv(12, 3, acq, "k"),
					inv(20, 1, rel, "k"), ok(22, 2, acq, "k", tok(2)), ok(23, 1, rel, "k"),
					inv(30, 2, rel, "k"), ok(31, 3, acq, "k", tok(3)), ok(32, 2, rel, "k"),
					inv(40, 3, rel, "k"), ok(41, 3, rel, "k"))
			},
			me: Valid, lin: Valid, overall: Valid,
		},
	}
}

func TestLockCheckers(t *testing.T) {
	for _, c := range lockCases() {
		t.Run(c.claim, func(t *testing.T) {
			h := c.h(t)
			me := MutualExclusion(h)
			if me.Status != c.me {
				t.Errorf("mutual-exclusion = %s (%s), want %s", me.Status, me.Summary, c.me)
			}
			if c.meKind != "" {
				for _, k := range kinds(me) {
					if k != c.meKind {
						t.Errorf("mutual-exclusion anomaly kinds %v, want only %s", kinds(me), c.meKind)
						break
					}
				}
			}
			for _, lin := range []Result{linTest(h), Linearizability(h, 0)} {
				if lin.Status != c.lin {
					t.Errorf("linearizability = %s (%s), want %s", lin.Status, lin.Summary, c.lin)
				}
				if lin.Status == Invalid && !hasKind(lin, KindNotLinearizable) {
					t.Errorf("linearizability invalid without a %s anomaly: %v", KindNotLinearizable, kinds(lin))
				}
			}
			rep := Check(h, Options{})
			if rep.Status != c.overall {
				t.Errorf("Check = %s, want %s", rep.Status, c.overall)
				for _, r := range rep.Results {
					t.Logf("  %s: %s %s", r.Checker, r.Status, r.Summary)
				}
			}
		})
	}
}

func TestOverlapExplanationNamesTimesAndCause(t *testing.T) {
	h := hist(t,
		inv(3899, 1, acq, "k1", lease(1000)), ok(3900, 1, acq, "k1", tok(7)),
		inv(4200, 3, acq, "k1", lease(1000)), ok(4212, 3, acq, "k1", tok(8)),
		inv(5000, 1, rel, "k1"), ok(5001, 1, rel, "k1"))
	me := MutualExclusion(h)
	if len(me.Anomalies) != 1 {
		t.Fatalf("anomalies = %v, want one", me.Anomalies)
	}
	a := me.Anomalies[0]
	want := "Process 3 acquired key k1 at 4.212s while process 1 still held it (granted at 3.900s, lease 1.000s asked at 3.899s, so it could not expire before 4.899s) (tokens 7 and 8): the service granted the lock early."
	if a.Explanation != want {
		t.Errorf("explanation\n got %q\nwant %q", a.Explanation, want)
	}
	if !slices.Equal(a.Processes, []int{1, 3}) || a.Start != at(4212) || a.End != at(5000) {
		t.Errorf("anomaly located at %v [%d, %d]", a.Processes, a.Start, a.End)
	}
	if !slices.Equal(a.Ops, []int{1, 3}) {
		t.Errorf("ops = %v, want the two acquire oks [1 3]", a.Ops)
	}
}

func TestCheckFillsFaultsActiveDuringAnomaly(t *testing.T) {
	h := hist(t,
		inv(0, 1, acq, "k"), ok(10, 1, acq, "k"),
		nem(15, "start-partition", value(`{"nodes":["n1","n2"]}`)),
		inv(20, 2, acq, "k"), ok(30, 2, acq, "k"),
		inv(34, 1, rel, "k"), nem(35, "stop-partition"), ok(36, 1, rel, "k"),
		nem(38, "start-pause"), nem(39, "stop-pause"), inv(40, 2, rel, "k"), ok(41, 2, rel, "k"))
	rep := Check(h, Options{})
	me := resultOf(t, rep, "mutual-exclusion")
	if len(me.Anomalies) != 1 {
		t.Fatalf("anomalies = %v", me.Anomalies)
	}
	if got := me.Anomalies[0].Faults; !slices.Equal(got, []string{"partition"}) {
		t.Errorf("faults = %v, want [partition]", got)
	}
	if FirstViolation(rep) != at(30) {
		t.Errorf("first violation = %d, want %d", FirstViolation(rep), at(30))
	}
}

func TestMutualExclusionCapsStoredAnomaliesButCountsAll(t *testing.T) {
	var ops []history.Op
	// 150 processes all acquire and never release: every later grant
	// overlaps every earlier one.
	for p := 0; p < 150; p++ {
		ops = append(ops, inv(float64(2*p), p, acq, "k"), ok(float64(2*p+1), p, acq, "k"))
	}
	me := mutualExclusion(hist(t, ops...), 10)
	if me.AnomalyCount != 150*149/2 || len(me.Anomalies) != 10 {
		t.Errorf("count %d stored %d, want %d and 10", me.AnomalyCount, len(me.Anomalies), 150*149/2)
	}
	if me.Anomalies[0].Start != at(3) {
		t.Errorf("first stored anomaly starts at %d, want the earliest", me.Anomalies[0].Start)
	}
}

func TestHoldsEndAtReleaseInvokeOrHistoryEnd(t *testing.T) {
	h := hist(t,
		inv(0, 1, acq, "k", lease(50)), ok(10, 1, acq, "k", tok(4)),
		inv(20, 1, rel, "k"), info(20, 1, rel, "k", errText("client crashed")),
		inv(30, 2, acq, "k"), ok(40, 2, acq, "k"),
		inv(50, 3, acq, "k"), fail(60, 3, acq, "k"))
	hs := Holds(h)
	if len(hs) != 2 {
		t.Fatalf("holds = %+v", hs)
	}
	a, b := hs[0], hs[1]
	if a.Start != at(10) || a.End != at(20) || a.Open || a.ReleaseType != history.Info || *a.Token != 4 ||
		a.Lease != at(50) || a.AcquireInvoke != 0 || a.AcquireOp != 1 || a.ReleaseOp != 2 {
		t.Errorf("crashed hold = %+v", a)
	}
	if b.Start != at(40) || b.End != at(60) || !b.Open || b.ReleaseOp != -1 || b.ReleaseType != "" {
		t.Errorf("open hold = %+v", b)
	}
}

func TestPairSynthesizesMissingCompletions(t *testing.T) {
	h := hist(t, inv(0, 1, acq, "k"), nem(1, "start-kill"), ok(2, 1, acq, "k"), inv(3, 2, rel, "k"))
	ops := Pair(h)
	if len(ops) != 2 {
		t.Fatalf("operations = %+v", ops)
	}
	if ops[0].Missing || ops[0].Done.Index != 2 {
		t.Errorf("first = %+v", ops[0])
	}
	if !ops[1].Missing || ops[1].Done.Type != history.Info || ops[1].Done.Time != at(3) || ops[1].Done.Index != -1 {
		t.Errorf("second = %+v", ops[1])
	}
}

func TestFaultWindows(t *testing.T) {
	h := hist(t,
		nem(0, "start-partition", value(`{"a":1}`)), nem(5, "start-clock"), nem(10, "stop-partition"),
		nem(11, "stop-partition"), nem(20, "start-partition"), inv(30, 1, acq, "k"))
	ws := FaultWindows(h)
	if len(ws) != 3 {
		t.Fatalf("windows = %+v", ws)
	}
	if ws[0].Name != "partition" || ws[0].Start != 0 || ws[0].End != at(11) || string(ws[0].Value) != `{"a":1}` {
		t.Errorf("first window = %+v", ws[0])
	}
	if ws[1].Name != "clock" || !ws[1].Open || ws[1].End != at(30) {
		t.Errorf("clock window = %+v", ws[1])
	}
	if ws[2].Start != at(20) || !ws[2].Open {
		t.Errorf("second partition = %+v", ws[2])
	}
	if got := faultsDuring(ws, at(12), at(19)); len(got) != 1 || got[0] != "clock" {
		t.Errorf("faults during a gap of the partition = %v", got)
	}
}

// TestKeylessOpsAreLeftOutByEveryLockChecker: the reader refuses a client
// op without key; a history built in code may still hold one, and then no
// lock checker judges it, rather than one ignoring it and another calling
// "key  " not linearizable.
func TestKeylessOpsAreLeftOutByEveryLockChecker(t *testing.T) {
	h := history.History{
		{Index: 0, Time: 0, Process: 1, Type: history.Invoke, F: acq},
		{Index: 1, Time: 1, Process: 1, Type: history.Ok, F: acq},
		{Index: 2, Time: 2, Process: 2, Type: history.Invoke, F: acq},
		{Index: 3, Time: 3, Process: 2, Type: history.Ok, F: acq},
	}
	rep := Check(h, Options{})
	for _, name := range []string{NameMutualExclusion, NameLinearizability} {
		if r := resultOf(t, rep, name); !r.Skipped {
			t.Errorf("%s judged keyless ops: %s %s", name, r.Status, r.Summary)
		}
	}
}

func TestStaleReleaseThatFreesTheNextHoldersLockIsNamed(t *testing.T) {
	h := hist(t,
		inv(0, 1, acq, "k", lease(100)), ok(5, 1, acq, "k"),
		inv(150, 2, acq, "k", lease(100)), ok(155, 2, acq, "k"),
		inv(200, 1, rel, "k"), ok(201, 1, rel, "k"), // a plain delete of process 2's key
		inv(205, 3, acq, "k", lease(100)), ok(210, 3, acq, "k"),
		inv(230, 2, rel, "k"), fail(231, 2, rel, "k"),
		inv(240, 3, rel, "k"), ok(241, 3, rel, "k"))
	r := MutualExclusion(h)
	kinds := map[string][]int{}
	for _, a := range r.Anomalies {
		kinds[a.Kind] = a.Processes
	}
	if r.Status != Invalid || !slices.Equal(kinds[KindOutlivedLease], []int{1, 2}) || !slices.Equal(kinds[KindStaleRelease], []int{2, 3}) {
		t.Fatalf("%s: %v; want process 1 outliving its lease, and its release freeing process 2's lock for process 3", r.Status, kinds)
	}
	if _, early := kinds[KindGrantedEarly]; early {
		t.Error("the overlap of 2 and 3 was blamed on the service")
	}
	// Without the stale release, the same overlap is the service's fault.
	h = hist(t,
		inv(0, 1, acq, "k", lease(100)), ok(5, 1, acq, "k"),
		inv(50, 1, rel, "k"), ok(51, 1, rel, "k"),
		inv(150, 2, acq, "k", lease(100)), ok(155, 2, acq, "k"),
		inv(205, 3, acq, "k", lease(100)), ok(210, 3, acq, "k"),
		inv(230, 2, rel, "k"), ok(231, 2, rel, "k"),
		inv(240, 3, rel, "k"), ok(241, 3, rel, "k"))
	r = MutualExclusion(h)
	if len(r.Anomalies) != 1 || r.Anomalies[0].Kind != KindGrantedEarly {
		t.Fatalf("%+v: want the service granting early", r.Anomalies)
	}
}

// The cascade of a plain delete: the stale holder's release frees the next
// holder's lock and it takes the key again itself; then the robbed holder's
// own release, within its lease, deletes the stale holder's new key. Each
// overlap is a release that did not check who held the lock, not the
// service granting early.
func TestStaleReleasesCascadeThroughTheHoldersTheyRobbed(t *testing.T) {
	h := hist(t,
		inv(0, 4, acq, "k", lease(100)), ok(5, 4, acq, "k"), // frozen past its lease
		inv(150, 3, acq, "k", lease(100)), ok(155, 3, acq, "k"),
		inv(200, 4, rel, "k"), ok(201, 4, rel, "k"), // deletes 3's key
		inv(202, 4, acq, "k", lease(100)), ok(203, 4, acq, "k"),
		inv(240, 3, rel, "k"), ok(241, 3, rel, "k"), // within 3's lease, deletes 4's key
		inv(242, 3, acq, "k", lease(100)), ok(243, 3, acq, "k"),
		inv(280, 4, rel, "k"), fail(281, 4, rel, "k"),
		inv(290, 3, rel, "k"), ok(291, 3, rel, "k"))
	r := MutualExclusion(h)
	kinds := map[string][][]int{}
	for _, a := range r.Anomalies {
		kinds[a.Kind] = append(kinds[a.Kind], a.Processes)
		if a.Kind == KindStaleRelease && slices.Equal(a.Processes, []int{4, 3}) &&
			!strings.Contains(a.Explanation, "although the key had been granted to process 4 at 0.203s while process 3 held it") {
			t.Errorf("the second stale release is not explained by the key changing hands: %s", a.Explanation)
		}
	}
	if _, early := kinds[KindGrantedEarly]; early || len(kinds[KindStaleRelease]) != 2 {
		t.Fatalf("%s: %v; want two stale releases and no early grant", r.Status, kinds)
	}
}

// A server that restarts empty hands out token 1 again: the repeat is a
// violation only once the second grant is made, not at the first one.
func TestRepeatedTokenIsCertainAtTheSecondGrant(t *testing.T) {
	h := hist(t,
		inv(0, 1, acq, "k", lease(100)), ok(5, 1, acq, "k", tok(1)),
		inv(20, 1, rel, "k"), ok(21, 1, rel, "k"),
		inv(700, 2, acq, "k", lease(100)), ok(705, 2, acq, "k", tok(1)),
		inv(720, 2, rel, "k"), ok(721, 2, rel, "k"))
	rep := Check(h, Options{})
	if fe := resultOf(t, rep, "fencing"); fe.Status != Invalid || fe.Anomalies[0].Kind != KindTokenRegression {
		t.Fatalf("fencing: %s %+v", fe.Status, fe.Anomalies)
	}
	if got := FirstViolation(rep); got != at(705) {
		t.Errorf("first violation = %d, want the second grant at %d", got, at(705))
	}
}
