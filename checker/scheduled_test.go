package checker

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// runJob is one run of tick t of job by p from msec on, completed by typ.
func runJob(msec float64, p int, job string, t int, typ history.Type, opts ...opt) []history.Op {
	v := value(fmt.Sprint(t))
	return []history.Op{inv(msec, p, history.FRunJob, job, v), rec(msec+0.5, p, typ, history.FRunJob, job, append(opts, v)...)}
}

func TestScheduledJobs(t *testing.T) {
	cases := []struct {
		name     string
		ops      []history.Op
		want     Status
		dups     int
		possible int
		missed   int
		fenced   int
		kinds    []string
	}{
		{name: "every tick once", want: Valid,
			ops: cat(runJob(0, 0, "job-0", 1, history.Ok), runJob(10, 1, "job-0", 2, history.Ok), runJob(20, 2, "job-0", 3, history.Ok))},
		{name: "a tick ran twice", want: Invalid, dups: 1, kinds: []string{KindDuplicateRun},
			ops: cat(runJob(0, 0, "job-0", 1, history.Ok), runJob(10, 1, "job-0", 2, history.Ok), runJob(10.2, 2, "job-0", 2, history.Ok))},
		{name: "missed ticks are reported but valid", want: Valid, missed: 2, kinds: []string{KindMissedTick},
			ops: cat(runJob(0, 0, "job-0", 1, history.Ok), runJob(30, 1, "job-0", 4, history.Ok))},
		{name: "missed and duplicated", want: Invalid, dups: 1, missed: 1, kinds: []string{KindDuplicateRun, KindMissedTick},
			ops: cat(runJob(0, 0, "job-0", 1, history.Ok), runJob(0.2, 1, "job-0", 1, history.Ok), runJob(20, 1, "job-0", 3, history.Ok))},
		{name: "an indeterminate run is only a possible duplicate", want: Valid, possible: 1,
			ops: cat(runJob(0, 0, "job-0", 1, history.Ok), runJob(0.2, 1, "job-0", 1, history.Info, errText("crash")))},
		{name: "an indeterminate run fills the gap", want: Valid,
			ops: cat(runJob(0, 0, "job-0", 1, history.Ok), runJob(10, 1, "job-0", 2, history.Info), runJob(20, 2, "job-0", 3, history.Ok))},
		{name: "a fenced run is no run", want: Valid, fenced: 1,
			ops: cat(runJob(0, 0, "job-0", 1, history.Ok, tok(2)), runJob(0.2, 1, "job-0", 1, history.Fail, tok(1), errText("stale token 1 < 2")))},
		{name: "independent jobs", want: Valid,
			ops: cat(runJob(0, 0, "job-0", 1, history.Ok), runJob(0.2, 1, "job-1", 1, history.Ok))},
		{name: "ticks before the first run and after the last are not missed", want: Valid,
			ops: cat(runJob(0, 0, "job-0", 40, history.Ok), runJob(10, 1, "job-0", 41, history.Ok))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ScheduledJobs(hist(t, c.ops...), 10*time.Millisecond)
			var d ScheduledDetails
			mustUnmarshal(t, r.Details, &d)
			if r.Status != c.want || d.DuplicateTicks != c.dups || d.PossibleDuplicates != c.possible ||
				d.MissedTicks != c.missed || d.Fenced != c.fenced {
				t.Errorf("got %s %+v (%s), want %s dups=%d possible=%d missed=%d fenced=%d",
					r.Status, d, r.Summary, c.want, c.dups, c.possible, c.missed, c.fenced)
			}
			if strings.Join(kinds(r), ",") != strings.Join(c.kinds, ",") {
				t.Errorf("anomalies %v, want %v", kinds(r), c.kinds)
			}
		})
	}
}

func TestScheduledJobsExplains(t *testing.T) {
	h := hist(t, cat(runJob(0, 0, "job-0", 1, history.Ok), runJob(0.2, 4, "job-0", 1, history.Ok),
		runJob(50, 1, "job-0", 5, history.Ok))...)
	r := ScheduledJobs(h, 200*time.Millisecond)
	if len(r.Anomalies) != 2 {
		t.Fatalf("anomalies %v, want a duplicate and a gap", kinds(r))
	}
	dup, gap := r.Anomalies[0], r.Anomalies[1]
	if want := "Tick 1 of job-0 (due at 0.200s) ran twice: by process 0 at 0.000s and by process 4 at 0.000s."; dup.Explanation != want {
		t.Errorf("duplicate: %q, want %q", dup.Explanation, want)
	}
	if !strings.HasPrefix(gap.Explanation, "Ticks 2 to 4 of job-0 (due from 0.400s to 0.800s) never ran") {
		t.Errorf("gap: %q", gap.Explanation)
	}
	if !strings.Contains(r.Summary, "3 ticks between the first and the last run never ran") {
		t.Errorf("summary %q does not mention the missed ticks", r.Summary)
	}
}

// A scheduled-jobs run whose ticks were both skipped and run twice leads
// with the tick that ran twice, the violation the run is about, although
// the skipped ticks came first: incidents list the violations before the
// missed ticks, which do not make a history invalid, and the first
// violation is the double run's (issue 32: "ticks 65 to 68 never ran" was
// the first incident of scheduled-job-runs-twice).
func TestScheduledJobsLeadWithTheTickThatRanTwice(t *testing.T) {
	h, err := history.ReadFile("testdata/scheduled-jobs-ticks-skipped-then-one-ran-twice-outlived-lease-invalid.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	scheduled := func(h history.History) Result { return ScheduledJobs(h, 200*time.Millisecond) }
	rep := Check(h, Options{Extra: []func(history.History) Result{scheduled}})
	var sj Result
	for _, r := range rep.Results {
		if r.Checker == NameScheduledJobs {
			sj = r
		}
	}
	// The history has both, the skipped ticks first.
	if sj.Status != Invalid || strings.Join(kinds(sj), ",") != KindMissedTick+","+KindDuplicateRun {
		t.Fatalf("scheduled-jobs: %s, anomalies %v; want invalid, a missed range then a duplicate", sj.Status, kinds(sj))
	}
	dup := sj.Anomalies[1]

	// Judged as the campaign cell judges it: by scheduled-jobs only.
	v := Judge(rep.Results, Rules{Only: []string{NameScheduledJobs}})
	if v.Status != Invalid || len(v.Incidents) != 2 {
		t.Fatalf("verdict %s with %d incidents, want invalid with 2", v.Status, len(v.Incidents))
	}
	if k := v.Incidents[0].Kind; k != KindDuplicateRun {
		t.Errorf("first incident is %s, want %s: %s", k, KindDuplicateRun, v.Incidents[0].Explanation)
	}
	if k := v.Incidents[1].Kind; k != KindMissedTick {
		t.Errorf("second incident is %s, want %s", k, KindMissedTick)
	}
	if want := "2 incidents found. The first: Tick 69 of job-0 (due at 13.800s) ran twice"; !strings.HasPrefix(v.Summary, want) {
		t.Errorf("summary %q, want it to start %q", v.Summary, want)
	}
	if v.FirstViolation != dup.Start {
		t.Errorf("first violation at %d, want the double run's start %d, not the skipped ticks'", v.FirstViolation, dup.Start)
	}

	// Judged by every checker, the double run joins the overlap of the
	// holds that caused it, and that incident still comes first.
	all := Judge(rep.Results, Rules{})
	if all.Status != Invalid || len(all.Incidents) == 0 || all.Incidents[0].Kind == KindMissedTick {
		t.Fatalf("over all checkers: %s, first incident %+v", all.Status, all.Incidents)
	}
	if !slices.ContainsFunc(all.Incidents[0].Findings, func(f Finding) bool { return f.Kind == KindDuplicateRun }) {
		t.Errorf("the first incident over all checkers does not hold the double run: %s", all.Incidents[0].Explanation)
	}
}
