package checker

import (
	"fmt"
	"sort"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// Anomaly kinds of the scheduled-jobs checker.
const (
	// KindDuplicateRun: one tick of a job ran more than once.
	KindDuplicateRun = "duplicate-run"
	// KindMissedTick: ticks of a job between two ticks that ran never
	// ran. It is a liveness finding: it does not make a history invalid.
	KindMissedTick = "missed-tick"
)

// ScheduledDetails are the figures of the scheduled-jobs checker.
type ScheduledDetails struct {
	// TickMillis is the tick period, 0 when unknown.
	TickMillis int64 `json:"tick_ms"`
	// Jobs is the number of job keys.
	Jobs int `json:"jobs"`
	// Runs counts the runs that returned ok.
	Runs int `json:"runs"`
	// Indeterminate counts runs without a known outcome.
	Indeterminate int `json:"indeterminate"`
	// Ticks counts the distinct (job, tick) pairs that ran or may have.
	Ticks int `json:"ticks"`
	// DuplicateTicks counts ticks that certainly ran more than once, and
	// ExtraRuns the runs beyond the first on them.
	DuplicateTicks int `json:"duplicate_ticks"`
	ExtraRuns      int `json:"extra_runs"`
	// PossibleDuplicates counts ticks that ran twice only if an
	// indeterminate run happened.
	PossibleDuplicates int `json:"possible_duplicates"`
	// MissedTicks counts ticks strictly between a job's first and last
	// run that never ran.
	MissedTicks int `json:"missed_ticks"`
	// Fenced counts resource accesses rejected for a stale token.
	Fenced int `json:"fenced"`
}

type tickRuns struct {
	ok    []chargeEvent
	maybe int
}

// ScheduledJobs checks that every tick of every job ran at most once, and
// counts the ticks that never ran. A run that returned ok certainly
// happened, one without a known outcome may have, and a failed one (for
// example rejected by fencing) did not. A tick with two runs that returned
// ok is a duplicate and makes the history invalid. A tick is missed when it
// lies strictly between the first and the last tick of its job that ran
// (or may have) and no run of it returned ok or stayed indeterminate; ticks
// before the workload started and after it stopped are never counted.
// Missed ticks are reported as anomalies, but the verdict stays valid: a
// lock that is unavailable for a while delays work, it does not corrupt it.
// tick is the period, used to say when a missed tick was due (0: unknown).
func ScheduledJobs(h history.History, tick time.Duration) Result {
	begin := time.Now()
	res := Result{Checker: NameScheduledJobs}
	d := ScheduledDetails{TickMillis: tick.Milliseconds()}
	jobs := map[string]map[int64]*tickRuns{}
	var keys []string
	for _, op := range Pair(h) {
		in, done := op.Invoke, op.Done
		if in.F != history.FRunJob && in.F != history.FRead && in.F != history.FWrite {
			continue
		}
		if done.Type == history.Fail && IsFencingRejection(done.Error) {
			d.Fenced++
			continue
		}
		if in.F != history.FRunJob {
			continue
		}
		t, ok := wlInt(in.Value)
		if !ok {
			if t, ok = wlInt(done.Value); !ok {
				continue
			}
		}
		ticks := jobs[in.Key]
		if ticks == nil {
			ticks = map[int64]*tickRuns{}
			jobs[in.Key] = ticks
			keys = append(keys, in.Key)
		}
		tr := ticks[t]
		if tr == nil {
			tr = &tickRuns{}
			ticks[t] = tr
		}
		switch done.Type {
		case history.Ok:
			tok := done.Token
			if tok == nil {
				tok = in.Token
			}
			tr.ok = append(tr.ok, chargeEvent{proc: in.Process, inv: in.Time, done: done.Time, op: done.Index, token: tok})
			d.Runs++
		case history.Info:
			tr.maybe++
			d.Indeterminate++
		}
	}
	d.Jobs = len(keys)
	var found, gaps []Anomaly // the duplicate runs; the missed ticks
	missed := 0
	for _, key := range keys {
		ticks := jobs[key]
		var ran []int64
		for t, tr := range ticks {
			if len(tr.ok)+tr.maybe > 0 {
				ran = append(ran, t)
			}
		}
		sort.Slice(ran, func(i, j int) bool { return ran[i] < ran[j] })
		d.Ticks += len(ran)
		for i, t := range ran {
			tr := ticks[t]
			sort.SliceStable(tr.ok, func(a, b int) bool { return tr.ok[a].done < tr.ok[b].done })
			switch {
			case len(tr.ok) >= 2:
				d.DuplicateTicks++
				d.ExtraRuns += len(tr.ok) - 1
				found = append(found, duplicateRun(key, t, tick, tr.ok))
			case len(tr.ok)+tr.maybe >= 2:
				d.PossibleDuplicates++
			}
			if i > 0 && t-ran[i-1] > 1 {
				prev := ticks[ran[i-1]]
				n := int(t - ran[i-1] - 1)
				missed += n
				gaps = append(gaps, missedTicks(key, ran[i-1]+1, t-1, tick, lastDone(prev), firstInvoke(tr)))
			}
		}
	}
	d.MissedTicks = missed
	res.AnomalyCount = len(found) + len(gaps)
	// The duplicates are listed before any missed tick is: a run with
	// many gaps early still lists the ticks that ran twice.
	found = keepEarliest(found, DefaultMaxAnomalies)
	res.Anomalies = keepEarliest(append(found, keepEarliest(gaps, DefaultMaxAnomalies-len(found))...), -1)
	res.Details = mustJSON(d)
	missedPhrase := ""
	if d.MissedTicks > 0 {
		missedPhrase = fmt.Sprintf("; %s between the first and the last run never ran (a liveness finding: it does not "+
			"make the history invalid)", Plural(d.MissedTicks, "tick"))
	}
	if d.DuplicateTicks > 0 {
		res.Status = Invalid
		res.Summary = fmt.Sprintf("%s of %d ran more than once (%s too many)%s.",
			upperFirst(Plural(d.DuplicateTicks, "tick")), d.Ticks, Plural(d.ExtraRuns, "run"), missedPhrase)
	} else {
		res.Status = Valid
		res.Summary = fmt.Sprintf("No tick ran twice (%s of %d ticks on %s)%s", Plural(d.Runs, "run"), d.Ticks,
			Plural(d.Jobs, "job"), missedPhrase)
		if d.Fenced > 0 {
			res.Summary += fmt.Sprintf("; fencing rejected %s by stale holders", Plural(d.Fenced, "resource access"))
		}
		res.Summary += "."
	}
	res.Millis = time.Since(begin).Milliseconds()
	return res
}

func lastDone(tr *tickRuns) int64 {
	var t int64
	for _, c := range tr.ok {
		t = max(t, c.done)
	}
	return t
}

func firstInvoke(tr *tickRuns) int64 {
	t := int64(-1)
	for _, c := range tr.ok {
		if t < 0 || c.inv < t {
			t = c.inv
		}
	}
	return max(t, 0)
}

func duplicateRun(key string, t int64, tick time.Duration, cs []chargeEvent) Anomaly {
	an := Anomaly{Kind: KindDuplicateRun, Key: key, Start: cs[0].inv, End: cs[0].done}
	var who []string
	for _, c := range cs {
		an.Processes = append(an.Processes, c.proc)
		an.Ops = append(an.Ops, c.op)
		an.Start, an.End = min(an.Start, c.inv), max(an.End, c.done)
		who = append(who, fmt.Sprintf("by process %d at %s%s", c.proc, history.FormatTime(c.done), wlTokenPhrase(c.token)))
	}
	due := ""
	if tick > 0 {
		due = fmt.Sprintf(" (due at %s)", history.FormatTime(t*int64(tick)))
	}
	times := "twice"
	if len(cs) > 2 {
		times = fmt.Sprintf("%d times", len(cs))
	}
	an.Explanation = fmt.Sprintf("Tick %d of %s%s ran %s: %s.", t, key, due, times, joinWords(who))
	return an
}

// missedTicks describes the ticks first..last of key that never ran;
// after and before are the times of the runs around the gap, used when
// the tick period is unknown.
func missedTicks(key string, first, last int64, tick time.Duration, after, before int64) Anomaly {
	an := Anomaly{Kind: KindMissedTick, Key: key, Start: after, End: max(before, after)}
	which, pronoun := fmt.Sprintf("Tick %d of %s", first, key), "it"
	if last > first {
		which, pronoun = fmt.Sprintf("Ticks %d to %d of %s", first, last, key), "them"
	}
	due := ""
	if tick > 0 {
		an.Start, an.End = first*int64(tick), (last+1)*int64(tick)
		due = fmt.Sprintf(" (due at %s)", history.FormatTime(an.Start))
		if last > first {
			due = fmt.Sprintf(" (due from %s to %s)", history.FormatTime(an.Start), history.FormatTime(last*int64(tick)))
		}
	}
	an.Explanation = fmt.Sprintf("%s%s never ran, although later ticks did: no server claimed %s in time.", which, due, pronoun)
	return an
}
