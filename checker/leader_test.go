package checker

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

// leads returns n actions of process p in the given term, step ms apart
// from the time from on, each taking 0.1 ms.
func leads(from, step float64, n, p int, term int, opts ...opt) []history.Op {
	var out []history.Op
	v := value(fmt.Sprint(term))
	for i := 0; i < n; i++ {
		at := from + float64(i)*step
		out = append(out, inv(at, p, history.FLead, "leader", append(opts, v)...), ok(at+0.1, p, history.FLead, "leader", append(opts, v)...))
	}
	return out
}

func TestLeaderElection(t *testing.T) {
	cases := []struct {
		name     string
		ops      []history.Op
		want     Status
		overlaps int
		terms    int
		fenced   int
	}{
		{name: "terms one after another", want: Valid, terms: 2,
			ops: cat(leads(0, 10, 5, 0, 1), leads(50, 10, 5, 1, 2))},
		{name: "two leaders act at once", want: Invalid, overlaps: 1, terms: 2,
			ops: cat(leads(0, 10, 5, 0, 1), leads(5, 10, 5, 1, 2))},
		{name: "one action inside another leader's term", want: Invalid, overlaps: 1, terms: 2,
			ops: cat(leads(0, 10, 5, 0, 1), leads(25, 10, 1, 1, 2))},
		{name: "three leaders at once", want: Invalid, overlaps: 3, terms: 3,
			ops: cat(leads(0, 10, 5, 0, 1), leads(1, 10, 5, 1, 2), leads(2, 10, 5, 2, 3))},
		{name: "actions that may have been ordered are not blamed", want: Valid, terms: 2,
			// The last action of term 1 and the first of term 2 run at once:
			// the resource may have taken them in either order.
			ops: cat(leads(0, 10, 3, 0, 1), []history.Op{inv(20.05, 1, history.FLead, "leader", value("2")), ok(20.2, 1, history.FLead, "leader", value("2"))},
				leads(30, 10, 3, 1, 2))},
		{name: "a deposed leader stopped by fencing", want: Valid, terms: 2, fenced: 1,
			ops: cat(leads(0, 10, 3, 0, 1, tok(1)), leads(25, 10, 3, 1, 2, tok(2)),
				[]history.Op{inv(40, 0, history.FLead, "leader", tok(1)), fail(40.1, 0, history.FLead, "leader", tok(1), errText("stale token 1 < 2"))})},
		{name: "indeterminate actions are not blamed", want: Valid, terms: 1,
			ops: cat(leads(0, 10, 5, 0, 1), []history.Op{inv(25, 1, history.FLead, "leader", value("2")), info(25.1, 1, history.FLead, "leader")})},
		{name: "the same process in two terms", want: Valid, terms: 2,
			ops: cat(leads(0, 10, 3, 0, 1), leads(30, 10, 3, 0, 2))},
		{name: "terms told apart by grants when there is no term id", want: Invalid, overlaps: 1, terms: 2,
			ops: []history.Op{
				inv(0, 0, history.FAcquire, "leader"), ok(0.1, 0, history.FAcquire, "leader"),
				inv(0.2, 1, history.FAcquire, "leader"), ok(0.3, 1, history.FAcquire, "leader"),
				inv(1, 0, history.FLead, "leader"), ok(1.1, 0, history.FLead, "leader"),
				inv(2, 1, history.FLead, "leader"), ok(2.1, 1, history.FLead, "leader"),
				inv(3, 0, history.FLead, "leader"), ok(3.1, 0, history.FLead, "leader"),
				inv(4, 1, history.FLead, "leader"), ok(4.1, 1, history.FLead, "leader"),
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := LeaderElection(hist(t, c.ops...))
			var d LeaderDetails
			mustUnmarshal(t, r.Details, &d)
			if r.Status != c.want || d.OverlappingTerms != c.overlaps || d.Terms != c.terms || d.Fenced != c.fenced {
				t.Errorf("got %s %+v (%s), want %s overlaps=%d terms=%d fenced=%d",
					r.Status, d, r.Summary, c.want, c.overlaps, c.terms, c.fenced)
			}
			if r.AnomalyCount != c.overlaps {
				t.Errorf("%d anomalies, want %d", r.AnomalyCount, c.overlaps)
			}
			for _, a := range r.Anomalies {
				if a.Kind != KindOverlappingTerms || a.Start > a.End || len(a.Processes) != 2 || a.Processes[0] == a.Processes[1] {
					t.Errorf("bad anomaly %+v", a)
				}
			}
		})
	}
}

func TestLeaderElectionExplains(t *testing.T) {
	r := LeaderElection(hist(t, cat(leads(0, 10, 5, 2, 7, tok(7)), leads(5, 10, 5, 5, 8, tok(8)))...))
	if len(r.Anomalies) != 1 {
		t.Fatalf("anomalies %v, want one", kinds(r))
	}
	want := "Processes 2 and 5 both acted as leader on key leader at once: process 2 (token 7) acted from 0.000s to 0.040s, " +
		"and process 5 (token 8) from 0.005s to 0.045s."
	if got := r.Anomalies[0].Explanation; got != want {
		t.Errorf("explanation %q, want %q", got, want)
	}
	if !strings.HasPrefix(r.Summary, "Two leaders acted at once in 1 pair of 2 terms") {
		t.Errorf("summary %q", r.Summary)
	}
}

func TestLeaderElectionExplainsAStaleLeaderWakingUp(t *testing.T) {
	// Process 3 stalled after its grant and acted once inside process 1's
	// term when it woke.
	r := LeaderElection(hist(t, cat(leads(0, 10, 5, 1, 5, tok(5)), leads(25, 10, 1, 3, 3, tok(3)))...))
	if len(r.Anomalies) != 1 {
		t.Fatalf("anomalies %v, want one", kinds(r))
	}
	want := "Processes 1 and 3 both acted as leader on key leader at once: process 1 (token 5) acted from 0.000s to 0.040s, " +
		"and process 3 (token 3) at 0.025s."
	if got := r.Anomalies[0].Explanation; got != want {
		t.Errorf("explanation %q, want %q", got, want)
	}
}
