package checker

import (
	"slices"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

func TestOneStalledHolderOverlappedThreeTimesIsOneIncident(t *testing.T) {
	h := hist(t,
		inv(0, 0, acq, "k", lease(100)), ok(1, 0, acq, "k", lease(100)),
		inv(150, 1, acq, "k"), ok(151, 1, acq, "k"), inv(160, 1, rel, "k"), ok(161, 1, rel, "k"),
		inv(170, 2, acq, "k"), ok(171, 2, acq, "k"), inv(180, 2, rel, "k"), ok(181, 2, rel, "k"),
		inv(190, 3, acq, "k"), ok(191, 3, acq, "k"), inv(200, 3, rel, "k"), ok(201, 3, rel, "k"),
		inv(300, 0, rel, "k"), fail(301, 0, rel, "k"))
	rep := Check(h, Options{})
	if me := resultOf(t, rep, NameMutualExclusion); me.AnomalyCount != 3 {
		t.Fatalf("mutual exclusion found %d overlaps, want 3", me.AnomalyCount)
	}
	v := Judge(rep.Results, Rules{})
	if v.IncidentCount != 1 || len(v.Incidents) != 1 || v.AtLeast {
		t.Fatalf("%d incidents (%d listed, at least %v), want 1", v.IncidentCount, len(v.Incidents), v.AtLeast)
	}
	inc := v.Incidents[0]
	if len(inc.Findings) != 3 || inc.Kind != KindOutlivedLease || !slices.Equal(inc.Processes, []int{0, 1, 2, 3}) {
		t.Errorf("incident %+v", inc)
	}
	if !strings.Contains(inc.Explanation, "In all, 3 later holders overlapped process 0's hold (processes 1, 2 and 3, the first at 0.151s).") {
		t.Errorf("explanation %q does not count the overlaps", inc.Explanation)
	}
	if !strings.HasPrefix(v.Summary, "1 incident found: ") {
		t.Errorf("summary %q", v.Summary)
	}
}

func TestAnOverlapTwoCheckersReportIsCountedOnce(t *testing.T) {
	h := hist(t, inv(0, 1, acq, "k"), ok(10, 1, acq, "k"), inv(20, 2, acq, "k"), ok(30, 2, acq, "k"))
	v := Judge(Check(h, Options{}).Results, Rules{})
	if v.IncidentCount != 1 {
		t.Fatalf("%d incidents, want 1: %q", v.IncidentCount, v.Summary)
	}
	inc := v.Incidents[0]
	if !slices.Equal(inc.Checkers, []string{NameMutualExclusion, NameLinearizability}) || len(inc.Findings) != 2 {
		t.Errorf("checkers %v, %d findings: want both findings attached", inc.Checkers, len(inc.Findings))
	}
	if inc.Findings[0].Checker != NameMutualExclusion {
		t.Errorf("the lead finding is %s's; the overlap reads best", inc.Findings[0].Checker)
	}
	if strings.Contains(v.Summary, "anomalies") || !strings.Contains(v.Summary, "In the same incident, linearizability found 1 window with no legal order") {
		t.Errorf("summary %q", v.Summary)
	}
}

func TestSeparateOverlapsAreSeparateIncidents(t *testing.T) {
	h := hist(t,
		inv(0, 1, acq, "k"), ok(1, 1, acq, "k"), inv(2, 2, acq, "k"), ok(3, 2, acq, "k"),
		inv(4, 1, rel, "k"), ok(5, 1, rel, "k"), inv(6, 2, rel, "k"), ok(7, 2, rel, "k"),
		inv(100, 3, acq, "k"), ok(101, 3, acq, "k"), inv(102, 4, acq, "k"), ok(103, 4, acq, "k"))
	v := Judge(Check(h, Options{}).Results, Rules{})
	if v.IncidentCount != 2 || !strings.HasPrefix(v.Summary, "2 incidents found. The first: Process 2 acquired key k at 0.003s") {
		t.Errorf("%d incidents: %q", v.IncidentCount, v.Summary)
	}
}

// TestIncidentsAreCountedBeyondTheListedAnomalies: mutual exclusion lists
// only some overlaps of a lock that never excluded anyone, but counts the
// overlapped holds, so the incident count stays exact.
func TestIncidentsAreCountedBeyondTheListedAnomalies(t *testing.T) {
	var ops []history.Op
	for p := 0; p < 150; p++ {
		ops = append(ops, inv(float64(2*p), p, acq, "k"), ok(float64(2*p+1), p, acq, "k"))
	}
	h := hist(t, ops...)
	results := []Result{mutualExclusion(h, 10)}
	v := Judge(results, Rules{})
	if v.IncidentCount != 149 || v.AtLeast {
		t.Errorf("%d incidents (at least %v), want exactly 149: every hold but the last was overlapped", v.IncidentCount, v.AtLeast)
	}
	if !strings.HasPrefix(v.Summary, "149 incidents found. The first: ") {
		t.Errorf("summary %q", v.Summary)
	}
	// Another checker's unlisted anomalies make the count a lower bound.
	results = append(results, Result{Checker: NameFencing, Status: Invalid, AnomalyCount: 500,
		Anomalies: []Anomaly{{Kind: KindStaleWrite, Key: "other", Start: 1, End: 2}}})
	if v := Judge(results, Rules{}); !v.AtLeast || !strings.HasPrefix(v.Summary, "At least 150 incidents found.") {
		t.Errorf("at least %v: %q", v.AtLeast, v.Summary)
	}
}

func TestAStaleWriteOnAResourceKeyJoinsTheStalledHoldersIncident(t *testing.T) {
	h := hist(t,
		inv(0, 0, acq, "lock", lease(50)), ok(1, 0, acq, "lock", tok(3)),
		inv(70, 1, acq, "lock", lease(50)), ok(71, 1, acq, "lock", tok(4)),
		inv(72, 1, wr, "res", tok(4)), ok(73, 1, wr, "res", tok(4)),
		inv(80, 0, wr, "res", tok(3)), ok(81, 0, wr, "res", tok(3)),
		inv(82, 0, rel, "lock"), fail(83, 0, rel, "lock"))
	v := Judge(Check(h, Options{}).Results, Rules{})
	if v.IncidentCount != 1 || !slices.Equal(v.Incidents[0].Checkers, []string{NameMutualExclusion, NameFencing}) {
		t.Errorf("%d incidents: %q", v.IncidentCount, v.Summary)
	}
}

func TestAMissedTickMakesNoIncident(t *testing.T) {
	r := Result{Checker: NameScheduledJobs, Status: Valid, AnomalyCount: 1,
		Anomalies: []Anomaly{{Kind: KindMissedTick, Key: "job-0", Start: 1, End: 2}}}
	if incs := Incidents([]Result{r}); len(incs) != 0 {
		t.Errorf("a valid result's anomaly made %d incidents", len(incs))
	}
}
