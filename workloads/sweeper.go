package workloads

import (
	"errors"
	"fmt"
	"strings"
)

// A Sweeper is a workload one of whose variants measures ways of doing
// the same work against each other, the lock among them. A campaign cell
// of that variant may ask, with speedup:, that each way it names make at
// least so many times the lock's throughput (docs/campaigns.md); the
// campaign reads what was made from the runs' checker.Contention result,
// so a Sweeper's Checkers return that checker.
type Sweeper interface {
	Workload
	// SweepVariant is the variant that measures the ways.
	SweepVariant() string
	// CheckSpeedup checks what a cell asks of the sweep, way by way, in
	// a sentence without the "speedup: " that the campaign puts before
	// it.
	CheckSpeedup(speedup map[string]float64) error
}

// CheckSpeedup checks the speedup a campaign cell asks of a run of the
// workload called name with variant ("" is the workload's default): only
// a Sweeper's sweep variant measures the ways, and it checks the rest.
func CheckSpeedup(name, variant string, speedup map[string]float64) error {
	if w, err := Lookup(name); err == nil {
		if s, ok := w.(Sweeper); ok && (variant == "" && defaultVariant(w) == s.SweepVariant() || variant == s.SweepVariant()) {
			return s.CheckSpeedup(speedup)
		}
	}
	var sweeps []string
	for _, w := range All() {
		if s, ok := w.(Sweeper); ok {
			sweeps = append(sweeps, fmt.Sprintf("workload %s, variant %s", w.Name(), s.SweepVariant()))
		}
	}
	if len(sweeps) == 0 {
		return errors.New("no workload measures ways against each other")
	}
	return fmt.Errorf("only a cell of %s, measures the ways against each other", strings.Join(sweeps, " or "))
}
