package reports

import (
	"fmt"
	"strings"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/store"
)

// How many incidents a run page explains in full, each with a window of
// the timeline, and how many findings it shows of one incident. The rest
// are folded into a compact list.
const (
	maxExplained       = maxFocus
	maxFindingsShown   = 12
	maxIncidentsListed = 300
)

// incidentsView is the incidents section of a run page.
type incidentsView struct {
	// Count is the number of incidents, AtLeast when it is a lower bound.
	Count   int
	AtLeast bool
	// Explained are the first incidents, told in full.
	Explained []incidentView
	// Folded are the other listed incidents, one row each.
	Folded []incidentView
	// NotListed counts the incidents the checkers counted but did not
	// list.
	NotListed int
	// All lists every incident of mutual exclusion, found again from
	// the history, when some were not listed; nil otherwise.
	All *allIncidentsView
}

// maxAllIncidents bounds the list of every incident of mutual exclusion.
const maxAllIncidents = 5000

// An allIncidentsView is the folded list, at the end of the incidents,
// of every incident mutual exclusion found: those the run's result only
// counted included. Cut says that there were more than the page lists.
type allIncidentsView struct {
	Rows  []incidentView
	Total int
	Cut   bool
}

// allIncidents runs mutual exclusion again on h, storing every anomaly up
// to maxAllIncidents, and groups them into incidents, so that the ones
// the run's result counted but did not list can be read on the page.
func allIncidents(h history.History) *allIncidentsView {
	r := checker.MutualExclusionUpTo(h, maxAllIncidents)
	incs := checker.Incidents([]checker.Result{r})
	if len(incs) == 0 {
		return nil
	}
	v := &allIncidentsView{Total: len(incs), Cut: r.AnomalyCount > len(r.Anomalies)}
	for i, inc := range incs {
		v.Rows = append(v.Rows, incidentView{N: i + 1, Kind: inc.Kind, Title: kindTitle(inc.Kind),
			Explanation: inc.Explanation, Key: inc.Key, Procs: procNames(inc.Processes),
			When: fmt.Sprintf("%s – %s", fmtNs(inc.Start), fmtNs(inc.End))})
	}
	return v
}

// Heading says how many incidents there are.
func (v incidentsView) Heading() string {
	s := checker.Plural(v.Count, "incident")
	if v.AtLeast {
		s = "at least " + s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// incidentView is one incident.
type incidentView struct {
	N                    int
	Kind, Title, Meaning string
	Explanation, Key     string
	Procs, When          string
	Faults, Checkers     []string
	Findings             []findingView
	HiddenFindings       int
	FocusID              string
}

// findingView is one checker's finding inside an incident.
type findingView struct {
	Checker, Title, Explanation, When, Ops string
}

// buildIncidents groups the run's findings into incidents with the
// verdict rules of the checker package.
func buildIncidents(res store.RunResult, hasHistory bool) (incidentsView, []marker) {
	v := checker.Judge(res.Results, checker.Rules{BrokeOff: res.Error})
	out := incidentsView{Count: v.IncidentCount, AtLeast: v.AtLeast}
	var markers []marker
	for i, inc := range v.Incidents {
		if i == maxIncidentsListed {
			break
		}
		n := i + 1
		iv := incidentView{N: n, Kind: inc.Kind, Title: kindTitle(inc.Kind), Meaning: kindMeaning(inc.Kind),
			Explanation: inc.Explanation, Key: inc.Key, Procs: procNames(inc.Processes),
			When: fmt.Sprintf("%s – %s", fmtNs(inc.Start), fmtNs(inc.End)), Faults: inc.Faults, Checkers: inc.Checkers}
		for j, f := range inc.Findings {
			if j == maxFindingsShown {
				iv.HiddenFindings = len(inc.Findings) - j
				break
			}
			iv.Findings = append(iv.Findings, findingView{Checker: f.Checker, Title: kindTitle(f.Kind),
				Explanation: f.Explanation, When: fmt.Sprintf("%s – %s", fmtNs(f.Start), fmtNs(f.End)), Ops: opList(f.Ops)})
		}
		if n <= maxExplained {
			if hasHistory {
				iv.FocusID = fmt.Sprintf("focus-%d", n)
			}
			out.Explained = append(out.Explained, iv)
		} else {
			out.Folded = append(out.Folded, iv)
		}
		markers = append(markers, marker{n: n, kind: iv.Title, key: inc.Key, procs: inc.Processes,
			start: inc.Start, end: max(inc.End, inc.Start),
			title: fmt.Sprintf("incident %d: %s on key %s", n, iv.Title, inc.Key)})
	}
	out.NotListed = max(0, out.Count-len(out.Explained)-len(out.Folded))
	return out, markers
}
