package checker

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Rules say how the results of the checkers become one verdict. They are
// the only verdict rules of lockstorm: runs, re-checks, campaign cells and
// reports all judge through Judge.
type Rules struct {
	// Only names the checkers that decide, as a campaign cell's judge:
	// list does; empty means every checker. Stats never decides, and
	// neither does a checker that had nothing to judge (Result.Skipped).
	Only []string
	// BrokeOff says why the run broke off before its end, "" when it did
	// not. A history that broke off cannot show safety: its verdict is
	// unknown at best.
	BrokeOff string
}

// A Verdict is the judgement of one history under some Rules.
type Verdict struct {
	Status Status
	// Summary says in a sentence or three what happened.
	Summary string
	// FirstViolation is the earliest time (ns since the start) by which
	// a deciding checker's anomaly had certainly happened, or -1.
	FirstViolation int64
	// Incidents are the incidents of the deciding checkers' listed
	// anomalies, in order of time.
	Incidents []Incident
	// IncidentCount counts all incidents: those listed, and the overlapped
	// holds and bad releases that mutual exclusion counted but did not
	// list. AtLeast reports that another checker did not list all its
	// anomalies either, so the count is a lower bound.
	IncidentCount int
	AtLeast       bool
	// Deciding names the checkers whose results decided the status.
	Deciding []string
}

// Judge applies the rules to the results of the checkers: invalid if a
// deciding checker is invalid; else unknown if one is unknown, if the run
// broke off, or if no checker decided anything at all (none ran, or none
// had anything to judge); else valid.
func Judge(results []Result, rules Rules) Verdict {
	v := Verdict{FirstViolation: -1}
	var deciding []Result
	var statuses []Status
	for _, r := range results {
		if Measures(r.Checker) || r.Skipped || len(rules.Only) > 0 && !slices.Contains(rules.Only, r.Checker) {
			continue
		}
		deciding = append(deciding, r)
		statuses = append(statuses, r.Status)
		v.Deciding = append(v.Deciding, r.Checker)
	}
	v.Status = Merge(statuses...)
	if rules.BrokeOff != "" && v.Status == Valid {
		v.Status = Unknown
	}
	v.FirstViolation = firstViolation(deciding)
	if v.Status == Invalid {
		v.Incidents = Incidents(deciding)
		v.IncidentCount, v.AtLeast = countIncidents(deciding, v.Incidents)
	}
	v.Summary = v.summarize(results, deciding, rules)
	return v
}

// countIncidents counts the incidents of the deciding results: the listed
// ones, and those mutual exclusion counted beyond its list.
func countIncidents(deciding []Result, listed []Incident) (int, bool) {
	n, atLeast := len(listed), false
	for _, r := range deciding {
		if r.AnomalyCount <= len(r.Anomalies) {
			continue
		}
		var d MutualExclusionDetails
		if r.Checker != NameMutualExclusion || json.Unmarshal(r.Details, &d) != nil {
			atLeast = true
			continue
		}
		seen := map[string]bool{}
		for _, a := range r.Anomalies {
			if h := overlapHold(Finding{Checker: r.Checker, Anomaly: a}); h != "" {
				seen[h] = true
			} else {
				seen[fmt.Sprint(a.Ops)] = true
			}
		}
		n += max(0, d.OverlappedHolds+d.BadReleases-len(seen))
	}
	return n, atLeast
}

func (v *Verdict) summarize(results, deciding []Result, rules Rules) string {
	switch {
	case v.Status == Invalid && len(v.Incidents) > 0:
		first := v.Incidents[0].Explanation
		lead := ""
		switch {
		case v.AtLeast:
			lead = fmt.Sprintf("At least %s found. The first: ", Plural(v.IncidentCount, "incident"))
		case v.IncidentCount == 1:
			lead = "1 incident found: "
		default:
			lead = fmt.Sprintf("%s found. The first: ", Plural(v.IncidentCount, "incident"))
		}
		return lead + first + fencingVerdict(results)
	case v.Status == Invalid:
		for _, r := range deciding {
			if r.Status == Invalid {
				return fmt.Sprintf("The history is invalid: %s", r.Summary)
			}
		}
	case len(deciding) == 0:
		return nothingDecided(results, rules)
	case rules.BrokeOff != "" && v.Status == Unknown && !anyUnknown(deciding):
		return fmt.Sprintf("The run broke off (%s); the history up to then shows no anomaly, but it cannot show safety.", rules.BrokeOff)
	case v.Status == Unknown:
		for _, r := range deciding {
			if r.Status == Unknown {
				s := "Undecided: " + r.Summary
				if rules.BrokeOff != "" {
					s += fmt.Sprintf(" The run also broke off (%s).", rules.BrokeOff)
				}
				return s
			}
		}
	}
	s := "No anomaly"
	if n, ok := statsOps(results); ok {
		s += fmt.Sprintf(" in %s", Plural(n, "operation"))
	}
	if len(rules.Only) > 0 {
		s += fmt.Sprintf(": %s found the history valid.", joinWords(v.Deciding))
	} else {
		s += ": every checker that had something to judge found the history valid."
	}
	for _, r := range results {
		if r.Skipped && (len(rules.Only) == 0 || slices.Contains(rules.Only, r.Checker)) {
			s += " " + r.Summary
		}
	}
	return s
}

// nothingDecided explains a verdict that no checker decided.
func nothingDecided(results []Result, rules Rules) string {
	var why []string
	for _, r := range results {
		if r.Skipped && (len(rules.Only) == 0 || slices.Contains(rules.Only, r.Checker)) {
			why = append(why, r.Summary)
		}
	}
	for _, name := range rules.Only {
		if !slices.ContainsFunc(results, func(r Result) bool { return r.Checker == name }) {
			why = append(why, fmt.Sprintf("The %s checker did not run on this history.", name))
		}
	}
	s := "Undecided: no checker had anything to judge in this history."
	if len(rules.Only) > 0 {
		s = fmt.Sprintf("Undecided: none of the checkers that decide (%s) judged anything in this history.", joinWords(rules.Only))
	}
	if len(why) > 0 {
		s += " " + strings.Join(why, " ")
	}
	return s
}

func anyUnknown(rs []Result) bool {
	return slices.ContainsFunc(rs, func(r Result) bool { return r.Status == Unknown })
}

// statsOps reads the number of ops from the stats result.
func statsOps(results []Result) (int, bool) {
	for _, r := range results {
		if r.Checker != NameStats {
			continue
		}
		var d struct {
			Ops *int `json:"ops"`
		}
		if json.Unmarshal(r.Details, &d) == nil && d.Ops != nil {
			return *d.Ops, true
		}
	}
	return 0, false
}

// fencingVerdict adds, for a run whose lock broke, whether fencing kept the
// data safe: the difference between "the lock broke" and "the data broke".
func fencingVerdict(results []Result) string {
	for _, r := range results {
		if r.Checker != NameFencing || r.Skipped || len(r.Details) == 0 {
			continue
		}
		var d FencingDetails
		if json.Unmarshal(r.Details, &d) != nil || d.StaleRejected+d.StaleAccepted == 0 {
			return ""
		}
		switch {
		case d.StaleAccepted == 0 && d.StaleRejected == 1:
			return " Fencing rejected the stale write, so the data stayed safe."
		case d.StaleAccepted == 0:
			return fmt.Sprintf(" Fencing rejected all %d stale writes, so the data stayed safe.", d.StaleRejected)
		case d.StaleRejected == 0:
			return fmt.Sprintf(" %s got through to the data, and fencing rejected none.", upperFirst(Plural(d.StaleAccepted, "stale write")))
		}
		return fmt.Sprintf(" %s got through to the data (fencing rejected %d).", upperFirst(Plural(d.StaleAccepted, "stale write")), d.StaleRejected)
	}
	return ""
}
