package store

import (
	"fmt"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/option"
)

// Expectation is what a campaign cell is expected to show.
type Expectation string

// The three expectations of a campaign cell.
const (
	// ExpectSafe: no run of the cell may find a violation.
	ExpectSafe Expectation = "safe"
	// ExpectUnsafe: the cell reproduces a known failure, so some run should
	// find a violation.
	ExpectUnsafe Expectation = "unsafe"
	// ExpectExplore: no expectation; the outcome is only reported.
	ExpectExplore Expectation = "explore"
)

// CellRun is one run of a campaign cell, as listed in the campaign's
// results.json.
type CellRun struct {
	// Dir is the run directory relative to the store root.
	Dir            string         `json:"dir"`
	Seed           int64          `json:"seed"`
	Status         checker.Status `json:"status"`
	Summary        string         `json:"summary"`
	FirstViolation int64          `json:"first_violation"`
	// WorkloadStart is the run's RunResult.WorkloadStart.
	WorkloadStart int64         `json:"workload_start,omitempty"`
	Ops           int           `json:"ops"`
	Indeterminate int           `json:"indeterminate"`
	Duration      time.Duration `json:"duration"`
	// Error is set when the run broke off: Interrupted when a signal
	// (Ctrl-C) cut it short, an infrastructure failure otherwise.
	Error       string `json:"error,omitempty"`
	Interrupted bool   `json:"interrupted,omitempty"`
	// NoFaults is the run's RunResult.NoFaults: why no fault struck, when
	// nemeses were asked for and none did; empty otherwise.
	NoFaults string `json:"no_faults,omitempty"`
	// ServerVersion is the run's RunResult.ServerVersion: the version the
	// lock server reported; empty when it did not say.
	ServerVersion string `json:"server_version,omitempty"`
	// Phases are the run's RunResult.Phases: where its time went.
	Phases []Phase `json:"phases,omitempty"`
	// StoppedEarlyAt is the run's RunResult.StoppedEarlyAt.
	StoppedEarlyAt int64 `json:"stopped_early_at,omitempty"`
	// Unjudged says which checkers the cell is judged by (judge:) had
	// nothing to judge in this run, or did not run, and why; empty
	// otherwise.
	Unjudged string `json:"unjudged,omitempty"`
	// Ratios are, for a run of the contention workload, each lock-free
	// way's deductions a second over the lock's at RatioClients clients
	// (the contention checker's figures).
	Ratios       map[string]float64 `json:"ratios,omitempty"`
	RatioClients int                `json:"ratio_clients,omitempty"`
}

// CellResult is the outcome of one cell over its repeats.
type CellResult struct {
	// Name is unique in the campaign, e.g. "etcd-mutex-pause".
	Name string `json:"name"`
	// Index is the cell's position in the whole campaign, so that shards
	// merge back in order.
	Index       int         `json:"index"`
	Target      string      `json:"target"`
	Workload    string      `json:"workload"`
	Nemesis     string      `json:"nemesis"`
	Variant     string      `json:"variant,omitempty"`
	Expect      Expectation `json:"expect"`
	Description string      `json:"description,omitempty"`
	Runs        []CellRun   `json:"runs"`
	// Status is the worst verdict over the runs.
	Status checker.Status `json:"status"`
	// Met says whether the expectation held; Outcome explains in words.
	Met     bool   `json:"met"`
	Outcome string `json:"outcome"`
	// NotRun says why the cell has no verdict at all, when none of its
	// runs was judged to the end nor found a violation: "infrastructure:
	// ..." or "interrupted: ...". Such a cell is neither met nor failed.
	NotRun string `json:"not_run,omitempty"`
	// Infrastructure is the first infrastructure failure of the cell's
	// runs (a cluster that would not start, an engine that stopped
	// answering, a teardown that left containers), empty when none failed.
	Infrastructure string `json:"infrastructure,omitempty"`
	// DetectionRate is the share of runs that found a violation.
	DetectionRate float64 `json:"detection_rate"`
	// Time to first violation over the runs that found one, in ns; -1 when
	// none did.
	TTFVMedian int64 `json:"ttfv_median"`
	TTFVMin    int64 `json:"ttfv_min"`
	TTFVMax    int64 `json:"ttfv_max"`
	// Throughput is client ops completed per second, averaged over runs.
	Throughput float64 `json:"throughput"`
	// Indeterminate is the number of info ops over all runs.
	Indeterminate int `json:"indeterminate"`
	// Speedup is what the cell asked of a contention sweep: for each
	// lock-free way, the least it must make, in deductions a second, over
	// the lock at 16 clients. Ratios are the medians the runs measured.
	Speedup map[string]float64 `json:"speedup,omitempty"`
	Ratios  map[string]float64 `json:"ratios,omitempty"`
	// MatrixOf says, for a cell expanded from a cell's matrix: of the
	// campaign file, which cell it came from and the values it ran with;
	// nil for every other cell.
	MatrixOf *MatrixOf `json:"matrix_of,omitempty"`
	// Margin is, for a cell that asked for a margin (margin: in the
	// campaign file), what its search found; nil for every other cell.
	Margin *CellMargin `json:"margin,omitempty"`
}

// A CellMargin is the margin a campaign cell measured: where its
// directory is (relative to the store root, with results.json and its
// page), the option varied over From..To, the outcome, the largest value
// that held every run and the smallest that broke every run (nil when
// the range has none), the lease granted, and why the search stopped
// early, if it did.
type CellMargin struct {
	Dir     string         `json:"dir"`
	Option  string         `json:"option"`
	From    time.Duration  `json:"from"`
	To      time.Duration  `json:"to"`
	Outcome string         `json:"outcome"`
	Holds   *time.Duration `json:"holds,omitempty"`
	Breaks  *time.Duration `json:"breaks,omitempty"`
	Lease   time.Duration  `json:"lease,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// Summary says the margin in a line: "client-pause.stall: holds at
// 900ms, breaks at 1.1s (lease 1s)", or the outcome when the range has no
// boundary.
func (m CellMargin) Summary() string {
	s := m.Option + ": "
	switch {
	case m.Error != "":
		s += "the search stopped: " + m.Error
	case m.Outcome == "found" && m.Holds != nil && m.Breaks != nil:
		s += fmt.Sprintf("holds at %s, breaks at %s", option.FormatDuration(*m.Holds), option.FormatDuration(*m.Breaks))
	default:
		s += "no boundary in range (" + m.Outcome + ")"
	}
	if m.Lease > 0 {
		s += fmt.Sprintf(" (lease %s)", option.FormatDuration(m.Lease))
	}
	return s
}

// A MatrixOf is where a cell expanded from a cell's matrix: came from: the
// name of the cell as written (Cell) and the value of each matrix option,
// in the order the file lists them.
type MatrixOf struct {
	Cell   string        `json:"cell"`
	Values []MatrixValue `json:"values"`
}

// A MatrixValue is one option of a cell's matrix: and the value it takes
// in one expanded cell.
type MatrixValue struct {
	Option string `json:"option"`
	Value  string `json:"value"`
}

// Label is the values joined as "a=1, b=2".
func (m MatrixOf) Label() string {
	parts := make([]string, len(m.Values))
	for i, v := range m.Values {
		parts[i] = v.Option + "=" + v.Value
	}
	return strings.Join(parts, ", ")
}

// CampaignResult is the content of a campaign's results.json.
type CampaignResult struct {
	Name     string        `json:"name"`
	ID       string        `json:"id"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration"`
	// Shard is "i/n" when only a slice of the cells ran.
	Shard string       `json:"shard,omitempty"`
	Cells []CellResult `json:"cells"`
	// ExitCode is what the campaign command exits with.
	ExitCode int `json:"exit_code"`
	// Interrupted says why the campaign stopped before all its cells
	// ran: a signal, or a container engine that stopped answering.
	Interrupted string `json:"interrupted,omitempty"`
}
