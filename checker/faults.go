package checker

import (
	"encoding/json"
	"strings"

	"github.com/lockstorm/lockstorm/history"
)

// A FaultWindow is the time during which one nemesis fault was active: from
// a start-<name> op of the nemesis to the next stop-<name> op, or to the end
// of the history when it was never stopped.
type FaultWindow struct {
	// Name is the fault's name without the start-/stop- prefix, e.g.
	// "partition".
	Name string `json:"name"`
	// Start and End are in nanoseconds since the run started.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Value is the payload of the start op (the fault's details).
	Value json.RawMessage `json:"value,omitempty"`
	// Open reports that the fault was still active when the history ended.
	Open bool `json:"open,omitempty"`
}

// FaultWindows returns the nemesis fault windows of h, in order of start.
// A start-X while X is already active is folded into the active window; a
// stop-X right after another stop-X (for example the completion of a stop
// that was recorded as invoke and info) extends the window it closed.
func FaultWindows(h history.History) []FaultWindow { return faultWindows(h, h.End()) }

// FaultsStruck counts the faults of h that took effect: the start-<name>
// ops of the nemesis recorded without an error (a start whose inject
// failed carries the error).
func FaultsStruck(h history.History) int {
	n := 0
	for _, o := range h {
		if o.IsNemesis() && strings.HasPrefix(o.F, history.FStartPrefix) && o.Error == "" {
			n++
		}
	}
	return n
}

// faultWindows finds the fault windows among the nemesis ops of h; a fault
// never stopped lasts until end, the end of the whole history.
func faultWindows(h history.History, end int64) []FaultWindow {
	var out []FaultWindow
	active := map[string]int{} // name -> index in out
	lastClosed := map[string]int{}
	for _, o := range h {
		if !o.IsNemesis() {
			continue
		}
		switch {
		case strings.HasPrefix(o.F, history.FStartPrefix):
			name := strings.TrimPrefix(o.F, history.FStartPrefix)
			if i, ok := active[name]; ok {
				if len(out[i].Value) == 0 {
					out[i].Value = o.Value
				}
				continue
			}
			active[name] = len(out)
			delete(lastClosed, name)
			out = append(out, FaultWindow{Name: name, Start: o.Time, Value: o.Value})
		case strings.HasPrefix(o.F, history.FStopPrefix):
			name := strings.TrimPrefix(o.F, history.FStopPrefix)
			if i, ok := active[name]; ok {
				out[i].End = o.Time
				lastClosed[name] = i
				delete(active, name)
			} else if i, ok := lastClosed[name]; ok {
				out[i].End = o.Time
			}
		}
	}
	for _, i := range active {
		out[i].End, out[i].Open = end, true
	}
	return out
}

// faultsDuring names the faults active at some moment of [start, end], each
// once, in order of their first window.
func faultsDuring(ws []FaultWindow, start, end int64) []string {
	var names []string
	seen := map[string]bool{}
	for _, w := range ws {
		if w.Start <= end && w.End >= start && !seen[w.Name] {
			seen[w.Name] = true
			names = append(names, w.Name)
		}
	}
	return names
}
