package history

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// struckValue is the part of a nemesis start op's value that says what
// the fault struck: the schedule's targets and the nemesis's details.
type struckValue struct {
	Targets []string `json:"targets"`
	Details struct {
		Nodes     []string       `json:"nodes"`
		Process   *int           `json:"process"`
		Key       string         `json:"key"`
		Client    string         `json:"client"`
		Processes []int          `json:"processes"`
		Clients   map[string]any `json:"clients"`
	} `json:"details"`
}

// Struck says which nodes, client processes or client containers a fault
// struck ("client p3 (holding lock-0) in c1", "nodes n1, n2"), from the
// value of its start op, or else from the targets the schedule gave it;
// "" when neither says. The run page's fault table and the console's
// fault lines both say it this way.
func Struck(value json.RawMessage, scheduled []string) string {
	var v struckValue
	if len(value) > 0 {
		_ = json.Unmarshal(value, &v) // an odd value says nothing more
	}
	d := v.Details
	var parts []string
	switch {
	case d.Process != nil:
		s := fmt.Sprintf("client p%d", *d.Process)
		if d.Key != "" {
			s += " (holding " + d.Key + ")"
		}
		if d.Client != "" {
			s += " in " + d.Client
		}
		parts = append(parts, s)
	case len(d.Processes) > 0:
		ps := make([]string, len(d.Processes))
		for i, p := range d.Processes {
			ps[i] = fmt.Sprintf("p%d", p)
		}
		parts = append(parts, "clients "+strings.Join(ps, ", "))
	case len(d.Clients) > 0:
		parts = append(parts, "client containers "+strings.Join(slices.Sorted(maps.Keys(d.Clients)), ", "))
	}
	nodes := d.Nodes
	if len(nodes) == 0 {
		nodes = v.Targets
	}
	if len(nodes) == 0 {
		nodes = scheduled
	}
	if len(nodes) > 0 && (len(parts) == 0 || len(d.Nodes) > 0) {
		parts = append(parts, "nodes "+strings.Join(nodes, ", "))
	}
	return strings.Join(parts, "; ")
}
