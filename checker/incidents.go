package checker

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lockstorm/lockstorm/history"
)

// A Finding is one anomaly as one checker reported it.
type Finding struct {
	Checker string `json:"checker"`
	Anomaly
}

// An Incident is one thing that went wrong, with what every checker that
// saw it reported. One stalled holder overlapped by three later holders is
// one incident with three overlaps; an overlap that linearizability and
// fencing also report is one incident with all their findings.
//
// Overlaps of holds belong to the incident of the earlier hold they
// overlap. Any other finding joins the first incident whose time span it
// meets and with which it has a process in common (a process does one
// thing at a time), or, when either names no process, whose key it
// shares; otherwise it starts an incident of its own. So a stale write
// to a resource key by the stalled holder of a lock joins that lock's
// overlap.
type Incident struct {
	// Kind is the kind of the lead finding, Key its key.
	Kind string `json:"kind"`
	Key  string `json:"key,omitempty"`
	// Processes are the client processes involved, in order of first
	// mention.
	Processes []int `json:"processes,omitempty"`
	// Start and End bound all findings, in ns since the run started.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Explanation says in plain words what happened: the lead finding's
	// explanation, then what the other findings add.
	Explanation string `json:"explanation"`
	// Findings are the anomalies of the incident, the lead first, then in
	// order of time.
	Findings []Finding `json:"findings"`
	// Checkers name the checkers that reported the incident, in the order
	// of the results.
	Checkers []string `json:"checkers"`
	// Faults name the nemesis faults active during any finding.
	Faults []string `json:"faults,omitempty"`

	hold     string // the overlapped hold, for overlaps
	checkerI []int  // places of the checkers in the results
}

// leadOrder lists the checkers whose findings read best, best first: an
// overlap of holds says more to a reader than a failed search.
var leadOrder = []string{NameMutualExclusion, NameLiveness, NameFencing}

// Violation reports whether an anomaly of kind breaks what its checker
// checks. A missed tick of a scheduled job does not: it is a liveness
// finding that the scheduled-jobs checker lists next to the duplicate runs
// that make a history invalid.
func Violation(kind string) bool { return kind != KindMissedTick }

// Incidents groups the listed anomalies of the invalid results into
// incidents: the violations first, in order of time, then the findings
// that are no violation (Violation), so that a run reads first what it
// broke (a tick that ran twice) and then what it only delayed (ticks that
// never ran). Anomalies of a result that is not invalid (the missed ticks
// of a scheduled job that no tick ran twice in) make none.
func Incidents(results []Result) []Incident {
	type item struct {
		f   Finding
		ord int // the result's place
	}
	var items []item
	for i, r := range results {
		if r.Status != Invalid {
			continue
		}
		for _, a := range r.Anomalies {
			items = append(items, item{Finding{Checker: r.Checker, Anomaly: a}, i})
		}
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := &items[i].f.Anomaly, &items[j].f.Anomaly
		if va, vb := Violation(a.Kind), Violation(b.Kind); va != vb {
			return va
		}
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		return items[i].ord < items[j].ord
	})
	var out []*Incident
	byHold := map[string]*Incident{}
	for _, it := range items {
		f := it.f
		hold := overlapHold(f)
		inc := byHold[hold]
		if inc == nil {
			for _, c := range out {
				if (hold == "" || c.hold == "") && c.meets(&f.Anomaly) {
					inc = c
					break
				}
			}
		}
		if inc == nil {
			inc = &Incident{Key: f.Key, Start: f.Start, End: f.End}
			out = append(out, inc)
		}
		if hold != "" && inc.hold == "" {
			inc.hold = hold
			byHold[hold] = inc
		}
		inc.join(f, it.ord)
	}
	incs := make([]Incident, len(out))
	for i, c := range out {
		c.finish(results)
		incs[i] = *c
	}
	return incs
}

// overlapHold names the earlier hold of an overlap finding, or "".
func overlapHold(f Finding) string {
	switch f.Kind {
	case KindOverlap, KindGrantedEarly, KindOutlivedLease, KindOutlivedSession, KindStaleRelease:
		if f.Checker == NameMutualExclusion && len(f.Ops) > 0 {
			return fmt.Sprintf("%s\x00%d", f.Key, f.Ops[0])
		}
	}
	return ""
}

// meets reports whether a finding belongs with the incident: time spans
// that meet, and a process in common, or the same key when either names
// no process.
func (c *Incident) meets(a *Anomaly) bool {
	if a.Start > c.End || a.End < c.Start {
		return false
	}
	if len(a.Processes) == 0 || len(c.Processes) == 0 {
		return a.Key == c.Key
	}
	for _, p := range a.Processes {
		if slices.Contains(c.Processes, p) {
			return true
		}
	}
	return false
}

func (c *Incident) join(f Finding, ord int) {
	c.Findings = append(c.Findings, f)
	c.Start, c.End = min(c.Start, f.Start), max(c.End, f.End, f.Start)
	for _, p := range f.Processes {
		if !slices.Contains(c.Processes, p) {
			c.Processes = append(c.Processes, p)
		}
	}
	for _, fa := range f.Faults {
		if !slices.Contains(c.Faults, fa) {
			c.Faults = append(c.Faults, fa)
		}
	}
	if !slices.Contains(c.checkerI, ord) {
		c.checkerI = append(c.checkerI, ord)
	}
}

// finish picks the lead finding and writes the explanation.
func (c *Incident) finish(results []Result) {
	lead := 0
	rank := func(f Finding) int {
		if !Violation(f.Kind) {
			return len(leadOrder) + 1
		}
		if i := slices.Index(leadOrder, f.Checker); i >= 0 {
			return i
		}
		return len(leadOrder)
	}
	for i, f := range c.Findings {
		if rank(f) < rank(c.Findings[lead]) {
			lead = i
		}
	}
	l := c.Findings[lead]
	c.Findings = append(append([]Finding{l}, c.Findings[:lead]...), c.Findings[lead+1:]...)
	c.Kind, c.Key = l.Kind, l.Key
	sort.Ints(c.checkerI)
	c.Checkers = nil
	for _, i := range c.checkerI {
		c.Checkers = append(c.Checkers, results[i].Checker)
	}
	c.Explanation = l.Explanation + c.more(l)
}

// more says what the findings other than the lead add.
func (c *Incident) more(l Finding) string {
	s := ""
	if c.hold != "" && l.Checker == NameMutualExclusion && len(l.Processes) > 0 {
		holds := 0
		var procs []int
		for _, f := range c.Findings {
			if overlapHold(f) != "" && len(f.Processes) > 1 {
				holds++
				if !slices.Contains(procs, f.Processes[1]) {
					procs = append(procs, f.Processes[1])
				}
			}
		}
		switch {
		case holds <= 1:
		case holds == len(procs):
			s += fmt.Sprintf(" In all, %d later holders overlapped process %d's hold (%s, the first at %s).",
				holds, l.Processes[0], procPhrase(procs), history.FormatTime(l.Start))
		default:
			slices.Sort(procs)
			// The checker keeps its first DefaultMaxAnomalies findings.
			all := "In all,"
			if holds >= DefaultMaxAnomalies {
				all = "At least"
			}
			s += fmt.Sprintf(" %s %d later holds overlapped process %d's hold (by %s, the first at %s).",
				all, holds, l.Processes[0], procPhrase(procs), history.FormatTime(l.Start))
		}
	}
	var others []string
	for _, name := range c.Checkers {
		if name == l.Checker {
			continue
		}
		kinds := map[string]int{}
		one := map[string]Finding{}
		var order []string
		for _, f := range c.Findings {
			if f.Checker != name {
				continue
			}
			if kinds[f.Kind] == 0 {
				order = append(order, f.Kind)
				one[f.Kind] = f
			}
			kinds[f.Kind]++
		}
		var phrases []string
		for _, k := range order {
			ph := kindPhrase(k, kinds[k])
			if f := one[k]; kinds[k] == 1 {
				ph += fmt.Sprintf(" (%s – %s)", history.FormatTime(f.Start), history.FormatTime(f.End))
			}
			phrases = append(phrases, ph)
		}
		others = append(others, name+" found "+joinWords(phrases))
	}
	if len(others) > 0 {
		s += " In the same incident, " + strings.Join(others, "; ") + "."
	}
	return s
}

// kindPhrase counts findings of one kind in words: "1 stale write that got
// through", "2 windows with no legal order".
func kindPhrase(kind string, n int) string {
	phrases := map[string][2]string{
		KindOverlap:          {"overlap of holds", "overlaps of holds"},
		KindGrantedEarly:     {"early grant", "early grants"},
		KindOutlivedLease:    {"holder that outlived its lease", "holders that outlived their leases"},
		KindOutlivedSession:  {"holder that outlived its session", "holders that outlived their sessions"},
		KindStaleRelease:     {"lock freed by a stale holder's release", "locks freed by stale holders' releases"},
		KindNotLinearizable:  {"window with no legal order of the lock operations", "windows with no legal order of the lock operations"},
		KindTokenRegression:  {"grant whose token was not greater than an earlier grant's", "grants whose tokens were not greater than earlier grants'"},
		KindStaleWrite:       {"stale write that got through", "stale writes that got through"},
		KindStuckLock:        {"stuck lock", "stuck locks"},
		KindBadRelease:       {"release by a non-holder", "releases by non-holders"},
		KindLostUpdate:       {"lost deduction", "lost deductions"},
		KindNegativeStock:    {"stock that went negative", "stocks that went negative"},
		KindDoubleCharge:     {"double charge", "double charges"},
		KindDuplicateRun:     {"job that ran twice", "jobs that ran twice"},
		KindMissedTick:       {"missed tick", "missed ticks"},
		KindOverlappingTerms: {"overlap of leader terms", "overlaps of leader terms"},
	}
	p, ok := phrases[kind]
	if !ok {
		w := strings.ReplaceAll(kind, "-", " ")
		p = [2]string{w, w + "s"}
	}
	if n == 1 {
		return "1 " + p[0]
	}
	return fmt.Sprintf("%d %s", n, p[1])
}
