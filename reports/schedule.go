package reports

import (
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strings"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

// struckFault is what the history says of one scheduled event: the
// nemesis's start op (when the fault was injected, what it struck, or why
// it failed) and its stop op (when it was healed).
type struckFault struct {
	start, stop *history.Op
}

// matchFaults pairs each event of the schedule with its ops in h. The
// nemesis runner applies the events one after another, in order, and
// records one start-<name> op for each event it reached (with an error
// when the inject failed) and one stop-<name> op after the heal of each
// that took effect; so the k-th start-<name> op is the start of the k-th
// event of that nemesis, and its stop is the next stop-<name>.
func matchFaults(events []plan.Event, h history.History) []struckFault {
	out := make([]struckFault, len(events))
	next := 0 // the first op not yet matched
	for i, e := range events {
		for j := next; j < len(h); j++ {
			o := &h[j]
			if o.IsNemesis() && o.F == history.FStartPrefix+e.Nemesis {
				out[i].start = o
				next = j + 1
				break
			}
		}
		if out[i].start == nil {
			break // the run ended before this event; the later ones too
		}
		if out[i].start.Error != "" {
			continue
		}
		for j := next; j < len(h); j++ {
			o := &h[j]
			if o.IsNemesis() && o.F == history.FStopPrefix+e.Nemesis {
				out[i].stop = o
				break
			}
		}
	}
	return out
}

// struckTargets says which nodes, client processes or client containers
// a fault struck (history.Struck), from the value of its start op, or else
// from the schedule's targets; "" when neither says.
func struckTargets(start *history.Op, e plan.Event) string {
	var v json.RawMessage
	if start != nil {
		v = start.Value
	}
	return history.Struck(v, e.Targets)
}

// scheduleRows is the fault table: one row per scheduled event, with the
// times on the timeline's clock (the history's: since the run started,
// rounded to milliseconds) at which the fault struck and was healed, and
// the nodes or client it struck.
func scheduleRows(res store.RunResult, h history.History, colours map[string]string) []eventView {
	var rows []eventView
	struck := matchFaults(res.Plan.Schedule.Events, h)
	for i, e := range res.Plan.Schedule.Events {
		params := make([]string, 0, len(e.Params))
		for k, v := range e.Params {
			params = append(params, k+"="+v)
		}
		sort.Strings(params)
		row := eventView{Nemesis: e.Nemesis, Mode: e.Mode, Duration: fmtNs(int64(e.Duration)),
			Params: strings.Join(params, " "), Colour: template.CSS("background:" + colours[e.Nemesis])}
		s := struck[i]
		row.Targets = struckTargets(s.start, e)
		switch {
		case s.start == nil:
			row.Start = "not reached"
			row.Planned = planned(res, e)
		case s.start.Error != "":
			row.Start = fmtNs(s.start.Time)
			row.End = "failed: " + s.start.Error
		default:
			row.Start = fmtNs(s.start.Time)
			if s.stop != nil {
				row.End = fmtNs(s.stop.Time)
			} else {
				row.End = "not healed in the history"
			}
		}
		if row.Targets == "" {
			row.Targets = "chosen when applied"
			if s.start == nil {
				row.Targets = "–"
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// planned says when an event that never struck was due, on the history's
// clock where the run recorded when its workload began.
func planned(res store.RunResult, e plan.Event) string {
	if res.WorkloadStart <= 0 {
		return fmt.Sprintf("due %s into the workload", fmtNs(int64(e.Start)))
	}
	return "due at " + fmtNs(res.WorkloadStart+int64(e.Start))
}
