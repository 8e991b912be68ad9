package checker

import (
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

func TestMergeOfNothingIsUnknown(t *testing.T) {
	if got := Merge(); got != Unknown {
		t.Errorf("Merge() = %s: a verdict merged from no statuses is no evidence of safety", got)
	}
	if got := Merge(Valid, Valid); got != Valid {
		t.Errorf("Merge(valid, valid) = %s", got)
	}
}

func TestJudgeRules(t *testing.T) {
	valid := hist(t, inv(0, 1, acq, "k"), ok(10, 1, acq, "k"), inv(20, 1, rel, "k"), ok(30, 1, rel, "k"))
	overlap := hist(t, inv(0, 1, acq, "k"), ok(10, 1, acq, "k"), inv(20, 2, acq, "k"), ok(30, 2, acq, "k"))
	cases := []struct {
		claim string
		h     history.History
		rules Rules
		want  Status
		says  string
	}{
		{"all checkers, a clean history", valid, Rules{}, Valid, "No anomaly in 4 operations"},
		{"a cell judged by a checker that never ran is unknown", valid, Rules{Only: []string{NameInventory}}, Unknown,
			"The inventory checker did not run on this history."},
		{"a cell judged by a checker that had nothing to judge is unknown", valid, Rules{Only: []string{NameLiveness}}, Unknown,
			"No liveness probe in this history; liveness was not checked."},
		{"a cell judged by mutual exclusion sees the overlap", overlap, Rules{Only: []string{NameMutualExclusion}}, Invalid, "1 incident found"},
		{"a run that broke off is unknown at best", valid, Rules{BrokeOff: "node n1 did not start"}, Unknown,
			"The run broke off (node n1 did not start); the history up to then shows no anomaly, but it cannot show safety."},
		{"an anomaly before the break is still invalid", overlap, Rules{BrokeOff: "killed"}, Invalid, "1 incident found"},
		{"an empty history decides nothing", nil, Rules{}, Unknown, "Undecided: no checker had anything to judge in this history."},
	}
	for _, c := range cases {
		t.Run(c.claim, func(t *testing.T) {
			v := Judge(Check(c.h, Options{}).Results, c.rules)
			if v.Status != c.want || !strings.Contains(v.Summary, c.says) {
				t.Errorf("verdict %s %q, want %s saying %q", v.Status, v.Summary, c.want, c.says)
			}
		})
	}
}

func TestValidateJudgeKnowsEveryChecker(t *testing.T) {
	if err := ValidateJudge(Names); err != nil {
		t.Errorf("the list of names refuses itself: %v", err)
	}
	for _, n := range []string{NameInventory, NamePayment, NameScheduledJobs, NameLeaderElection} {
		if err := ValidateJudge([]string{n}); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	err := ValidateJudge([]string{"fencin"})
	if err == nil || !strings.Contains(err.Error(), `unknown checker "fencin" (valid: fencing, inventory, leader-election, linearizability,`) {
		t.Errorf("ValidateJudge(fencin) = %v", err)
	}
	if ValidateJudge([]string{NameStats}) == nil {
		t.Error("stats never decides, so a cell cannot be judged by it")
	}
}

// TestFencingVerdictWords: the verdict's sentence about the data counts
// right in the singular and the plural.
func TestFencingVerdictWords(t *testing.T) {
	cases := []struct {
		d    FencingDetails
		want string
	}{
		{FencingDetails{StaleRejected: 1}, " Fencing rejected the stale write, so the data stayed safe."},
		{FencingDetails{StaleRejected: 3}, " Fencing rejected all 3 stale writes, so the data stayed safe."},
		{FencingDetails{StaleAccepted: 1}, " 1 stale write got through to the data, and fencing rejected none."},
		{FencingDetails{StaleAccepted: 2, StaleRejected: 1}, " 2 stale writes got through to the data (fencing rejected 1)."},
		{FencingDetails{}, ""},
	}
	for _, c := range cases {
		r := Result{Checker: NameFencing, Status: Valid, Details: mustJSON(c.d)}
		if got := fencingVerdict([]Result{r}); got != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.d, got, c.want)
		}
	}
}

func TestMutualExclusionSummaryWords(t *testing.T) {
	cases := []struct {
		d    MutualExclusionDetails
		want string
	}{
		{MutualExclusionDetails{Overlaps: 1, OverlappedHolds: 1, GrantedEarly: 1}, "1 hold was overlapped by a later holder (1 granted early by the service)."},
		{MutualExclusionDetails{Overlaps: 3, OverlappedHolds: 1, OutlivedLease: 3}, "1 hold was overlapped by 3 later holders (3 where the holder outlived its lease)."},
		{MutualExclusionDetails{Overlaps: 5, OverlappedHolds: 2, NoLease: 5}, "2 holds were overlapped by later holders, 5 times in all (5 where no lease was recorded)."},
		{MutualExclusionDetails{BadReleases: 1}, "1 release by a process that held nothing returned ok."},
	}
	for _, c := range cases {
		if got := meSummary(c.d); got != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.d, got, c.want)
		}
	}
}
