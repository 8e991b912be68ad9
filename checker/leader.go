package checker

import (
	"fmt"
	"sort"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// KindOverlappingTerms: two processes acted as leader of one election
// during terms that overlapped in time.
const KindOverlappingTerms = "overlapping-terms"

// LeaderDetails are the figures of the leader-election checker.
type LeaderDetails struct {
	// Terms counts the terms in which a leader acted at least once.
	Terms int `json:"terms"`
	// Leaders counts the distinct processes that acted as leader.
	Leaders int `json:"leaders"`
	// Actions counts leader actions that returned ok.
	Actions int `json:"actions"`
	// Indeterminate counts leader actions without a known outcome.
	Indeterminate int `json:"indeterminate"`
	// OverlappingTerms counts the pairs of terms of different processes
	// that certainly overlapped.
	OverlappingTerms int `json:"overlapping_terms"`
	// Fenced counts leader actions the resource rejected for a stale
	// token: a deposed leader that fencing stopped.
	Fenced int `json:"fenced"`
}

// A term is what one process did as leader after one grant.
type term struct {
	key                 string
	proc                int
	label               string
	firstInv, firstDone int64
	lastInv, lastDone   int64
	firstOp, lastOp     int
	actions             int
}

// LeaderElection checks that no two processes acted as leader of one
// election at the same time. The leader actions of a process that share a
// term id (the op's value; without one, the grant they followed) form a
// term. Two terms of different processes overlap for certain when neither
// can have ended before the other began: each term's last action was
// invoked after the other's first action had returned. Only actions that
// returned ok count; indeterminate ones are counted but never blamed.
// Each overlapping pair of terms is one anomaly.
func LeaderElection(h history.History) Result {
	begin := time.Now()
	res := Result{Checker: NameLeaderElection}
	var d LeaderDetails
	byID := map[string]*term{}
	var terms []*term
	grant := map[procKey]int{}
	leaders := map[int]bool{}
	for _, op := range Pair(h) {
		in, done := op.Invoke, op.Done
		pk := procKey{in.Process, in.Key}
		if in.F == history.FAcquire && done.Type == history.Ok {
			grant[pk] = done.Index
			continue
		}
		if in.F != history.FLead {
			continue
		}
		switch done.Type {
		case history.Info:
			d.Indeterminate++
			continue
		case history.Fail:
			if IsFencingRejection(done.Error) {
				d.Fenced++
			}
			continue
		}
		d.Actions++
		leaders[in.Process] = true
		label := ""
		switch {
		case done.Token != nil:
			label = fmt.Sprintf("token %d", *done.Token)
		case in.Token != nil:
			label = fmt.Sprintf("token %d", *in.Token)
		case len(in.Value) > 0:
			label = "term " + string(in.Value)
		default:
			label = fmt.Sprintf("grant #%d", grant[pk])
		}
		id := fmt.Sprintf("%s\x00%d\x00%s", in.Key, in.Process, label)
		t := byID[id]
		if t == nil {
			t = &term{key: in.Key, proc: in.Process, label: label, firstInv: in.Time, firstDone: done.Time,
				firstOp: done.Index}
			byID[id] = t
			terms = append(terms, t)
		}
		t.lastInv, t.lastDone, t.lastOp = in.Time, done.Time, done.Index
		t.actions++
	}
	d.Terms, d.Leaders = len(terms), len(leaders)
	sort.SliceStable(terms, func(i, j int) bool { return terms[i].firstDone < terms[j].firstDone })
	var found []Anomaly
	active := map[string][]*term{}
	for _, b := range terms {
		kept := active[b.key][:0]
		for _, a := range active[b.key] {
			if a.lastInv > b.firstDone {
				kept = append(kept, a)
			}
		}
		for _, a := range kept {
			if a.proc != b.proc && b.lastInv > a.firstDone {
				d.OverlappingTerms++
				found = append(found, overlappingTerms(a, b))
			}
		}
		active[b.key] = append(kept, b)
	}
	res.AnomalyCount = len(found)
	res.Anomalies = keepEarliest(found, DefaultMaxAnomalies)
	res.Details = mustJSON(d)
	fenced := ""
	if d.Fenced > 0 {
		fenced = fmt.Sprintf("; fencing stopped %s by deposed leaders", Plural(d.Fenced, "action"))
	}
	if d.OverlappingTerms > 0 {
		res.Status = Invalid
		res.Summary = fmt.Sprintf("Two leaders acted at once in %s of %s%s.",
			Plural(d.OverlappingTerms, "pair"), Plural(d.Terms, "term"), fenced)
	} else {
		res.Status = Valid
		res.Summary = fmt.Sprintf("No two leaders acted at once (%s by %s, %s)%s.",
			Plural(d.Terms, "term"), Plural(d.Leaders, "process"), Plural(d.Actions, "leader action"), fenced)
	}
	res.Millis = time.Since(begin).Milliseconds()
	return res
}

func overlappingTerms(a, b *term) Anomaly {
	return Anomaly{Kind: KindOverlappingTerms, Key: b.key, Processes: []int{a.proc, b.proc},
		Start: max(a.firstInv, b.firstInv), End: min(a.lastDone, b.lastDone), Ops: []int{a.firstOp, a.lastOp, b.firstOp, b.lastOp},
		Explanation: fmt.Sprintf("Processes %d and %d both acted as leader on key %s at once: process %d (%s) acted %s, "+
			"and process %d (%s) %s.", a.proc, b.proc, b.key, a.proc, a.label, a.span(), b.proc, b.label, b.span())}
}

// span says when the term's actions ran: "from 1.200s to 2.300s", or
// "at 1.200s" for a term that acted only once.
func (t *term) span() string {
	from, to := history.FormatTime(t.firstInv), history.FormatTime(t.lastDone)
	if from == to {
		return "at " + from
	}
	return "from " + from + " to " + to
}
