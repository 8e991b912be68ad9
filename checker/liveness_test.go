package checker

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

func TestLivenessFindsStuckLock(t *testing.T) {
	h := hist(t,
		inv(0, 1, acq, "k1"), ok(10, 1, acq, "k1"),
		inv(12300, 1, rel, "k1"), info(12300, 1, rel, "k1", errText("client crashed")),
		inv(12301, 2, acq, "k2"), ok(12302, 2, acq, "k2"), inv(12303, 2, rel, "k2"), ok(12304, 2, rel, "k2"),
		nem(30000, "liveness-probe", value(`{"bound":5000000000}`)),
		inv(30001, 10, acq, "k1"), inv(30002, 11, acq, "k2"), ok(30010, 11, acq, "k2"),
		inv(30011, 11, rel, "k2"), ok(30012, 11, rel, "k2"),
		fail(35001, 10, acq, "k1", errText("timeout")))
	r := Liveness(h)
	if r.Status != Invalid || len(r.Anomalies) != 1 || r.Anomalies[0].Kind != KindStuckLock {
		t.Fatalf("status %s anomalies %v", r.Status, r.Anomalies)
	}
	want := "After the final heal at 30.000s, key k1 could not be acquired within 5.000s (the probe by process 10 ended fail: timeout); " +
		"its last holder, process 1 (granted at 0.010s), crashed at 12.300s while holding it, and its grant recorded no lease."
	if got := r.Anomalies[0].Explanation; got != want {
		t.Errorf("explanation\n got %q\nwant %q", got, want)
	}
	rep := Check(h, Options{})
	if lv := resultOf(t, rep, "liveness"); lv.Status != Invalid {
		t.Errorf("Check's liveness = %s", lv.Status)
	}
}

func TestLivenessValidWhenEveryProbeSucceeds(t *testing.T) {
	h := hist(t,
		inv(0, 1, acq, "k"), ok(10, 1, acq, "k"), inv(20, 1, rel, "k"), ok(30, 1, rel, "k"),
		nem(40, "liveness-probe", value(`{"bound":1000000000}`)),
		inv(41, 5, acq, "k"), ok(42, 5, acq, "k"), inv(43, 5, rel, "k"), ok(44, 5, rel, "k"))
	if r := Liveness(h); r.Status != Valid || len(r.Anomalies) != 0 {
		t.Errorf("status %s: %s", r.Status, r.Summary)
	}
}

func TestLivenessProbeBeyondBoundIsStuck(t *testing.T) {
	h := hist(t,
		nem(0, "liveness-probe", value(`{"bound":1000000000}`)),
		inv(1, 5, acq, "k"), ok(2500, 5, acq, "k"))
	r := Liveness(h)
	if r.Status != Invalid || !strings.Contains(r.Anomalies[0].Explanation, "got it only after 2.499s") {
		t.Errorf("status %s anomalies %+v", r.Status, r.Anomalies)
	}
}

func TestCheckSaysLivenessWasNotCheckedWithoutProbe(t *testing.T) {
	h := hist(t, inv(0, 1, acq, "k"), ok(10, 1, acq, "k"), inv(20, 1, rel, "k"), ok(30, 1, rel, "k"))
	rep := Check(h, Options{})
	lv := resultOf(t, rep, "liveness")
	if !lv.Skipped || lv.Status != Unknown || lv.Summary != "No liveness probe in this history; liveness was not checked." {
		t.Errorf("liveness without a probe: %+v", lv)
	}
	v := Judge(rep.Results, Rules{})
	if v.Status != Valid || !strings.Contains(v.Summary, "liveness was not checked") {
		t.Errorf("verdict %s %q: want valid, saying that liveness was not checked", v.Status, v.Summary)
	}
}

func TestStats(t *testing.T) {
	h := hist(t,
		inv(0, 1, acq, "k"), ok(10, 1, acq, "k"),
		inv(10, 2, acq, "k"), fail(30, 2, acq, "k"),
		nem(35, "start-kill"),
		inv(40, 3, acq, "k"), info(50, 3, acq, "k"),
		inv(60, 1, rel, "k"), ok(61, 1, rel, "k"))
	r := Stats(h)
	if r.Status != Valid {
		t.Fatalf("status %s", r.Status)
	}
	var d map[string]float64
	if err := json.Unmarshal(r.Details, &d); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"ops": 9, "operations": 4, "processes": 3, "nemesis_ops": 1, "duration_ms": 61,
		"acquire_ok": 1, "acquire_fail": 1, "acquire_info": 1, "acquire_p50_ms": 10, "acquire_max_ms": 20,
		"release_ok": 1, "release_p99_ms": 1}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %v, want %v", k, d[k], v)
		}
	}
}

// A stuck key that the run already showed out of reach: the anomaly, and
// so the time to first violation, starts at the first acquire that the
// service refused after the last holder crashed; an acquire invoked while
// the holder was still alive does not count.
func TestStuckLockStartsWhereTheRunShowedItOutOfReach(t *testing.T) {
	h := hist(t,
		inv(0, 1, acq, "k"), ok(10, 1, acq, "k"),
		inv(5000, 2, acq, "k"), fail(7000, 2, acq, "k", errText("busy")), // before the crash
		inv(8000, 1, rel, "k"), info(8000, 1, rel, "k", errText("client crashed")),
		inv(8500, 3, acq, "k"), fail(10500, 3, acq, "k", errText("busy")),
		inv(10600, 2, acq, "k"), fail(12600, 2, acq, "k", errText("busy")),
		inv(12700, 3, acq, "k"), info(14700, 3, acq, "k", errText("timeout")),
		nem(60000, "liveness-probe", value(`{"bound":10000000000}`)),
		inv(60001, 10, acq, "k"), fail(70001, 10, acq, "k", errText("busy")))
	r := Liveness(h)
	if r.Status != Invalid || len(r.Anomalies) != 1 {
		t.Fatalf("status %s anomalies %+v", r.Status, r.Anomalies)
	}
	a := r.Anomalies[0]
	if a.Start != 10500*1e6 {
		t.Errorf("the stuck lock starts at %s, want 10.500s (the first refusal after the crash)", history.FormatTime(a.Start))
	}
	want := "; no acquire of it succeeded after its last holder was gone at 8.000s: the first to fail ended at 10.500s, and 2 acquires failed in all before the probe."
	if !strings.HasSuffix(a.Explanation, want) {
		t.Errorf("explanation %q\nwant it to end %q", a.Explanation, want)
	}
	if fv := FirstViolation(Check(h, Options{})); fv != 10500*1e6 {
		t.Errorf("first violation %s, want 10.500s", history.FormatTime(fv))
	}
}

// A last holder that never let go is no stuck lock before the probe: the
// key was held. So is a holder whose lease had not run out when the
// acquire was refused.
func TestStuckLockStartsAtTheProbeWhileTheHolderMightHoldIt(t *testing.T) {
	open := hist(t,
		inv(0, 1, acq, "k"), ok(10, 1, acq, "k"),
		inv(500, 2, acq, "k"), fail(2500, 2, acq, "k", errText("busy")),
		nem(60000, "liveness-probe", value(`{"bound":10000000000}`)),
		inv(60001, 10, acq, "k"), fail(70001, 10, acq, "k", errText("busy")))
	if a := Liveness(open).Anomalies; len(a) != 1 || a[0].Start != 60001*1e6 {
		t.Errorf("a holder that never released: anomalies %+v, want one from the probe at 60.001s", a)
	}
	leased := hist(t,
		inv(0, 1, acq, "k", lease(30000)), ok(10, 1, acq, "k", lease(30000)),
		inv(1000, 1, rel, "k"), info(1000, 1, rel, "k", errText("client crashed")),
		inv(2000, 2, acq, "k"), fail(4000, 2, acq, "k", errText("busy")),
		inv(31000, 3, acq, "k"), fail(33000, 3, acq, "k", errText("busy")),
		nem(60000, "liveness-probe", value(`{"bound":10000000000}`)),
		inv(60001, 10, acq, "k"), fail(70001, 10, acq, "k", errText("busy")))
	if a := Liveness(leased).Anomalies; len(a) != 1 || a[0].Start != 33000*1e6 {
		t.Errorf("a crashed holder with a 30-s lease: anomalies %+v, want one from 33.000s, the first refusal after the lease", a)
	}
}
