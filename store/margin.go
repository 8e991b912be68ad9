package store

import (
	"path/filepath"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/plan"
)

// MarginResult is the content of a margin's results.json
// (store/margins/<target>-<option>/<timestamp>/results.json, with its runs
// under runs/). Durations are in nanoseconds, as in the history.
type MarginResult struct {
	// Command is the margin's command line.
	Command string   `json:"command"`
	Target  string   `json:"target"`
	Nemeses []string `json:"nemeses"`
	// Vary is the option varied and its range.
	Vary MarginVary `json:"vary"`
	// Seeds are the seeds run at every value tried.
	Seeds []int64 `json:"seeds"`
	// Lease is the lease the servers granted in the first run (the figure
	// to read the margin against); 0 when none was recorded.
	Lease time.Duration `json:"lease"`
	// Plan is the plan of the runs, at From and with the first seed.
	Plan    plan.Plan   `json:"plan"`
	Margin  MarginFound `json:"margin"`
	Started time.Time   `json:"started"`
	// Error is why the search stopped before it ended; empty otherwise.
	Error string `json:"error,omitempty"`
}

// MarginVary is the duration option a margin varies, over From..To.
type MarginVary struct {
	Option string        `json:"option"`
	From   time.Duration `json:"from"`
	To     time.Duration `json:"to"`
}

// MarginFound is what the search found: its outcome (margin.Found,
// margin.AboveRange, ...), the largest value at which no run broke the
// lock (Holds) and the smallest at which every run did (Breaks), each nil
// when the range has none, and every step in the order tried.
type MarginFound struct {
	Outcome string         `json:"outcome"`
	Holds   *time.Duration `json:"holds,omitempty"`
	Breaks  *time.Duration `json:"breaks,omitempty"`
	Steps   []MarginStep   `json:"steps"`
}

// A MarginStep is one value tried: how many of its runs broke the lock,
// the rate, and each run.
type MarginStep struct {
	Value      time.Duration `json:"value"`
	Violations int           `json:"violations"`
	Runs       int           `json:"runs"`
	Rate       float64       `json:"rate"`
	Trials     []Trial       `json:"trials"`
}

// A Trial is one run of a search (a margin's step, a shrink's replay):
// its seed, its directory and its verdict.
type Trial struct {
	Seed   int64          `json:"seed"`
	Dir    string         `json:"dir"`
	Status checker.Status `json:"status"`
}

// Broke says whether the trial's run found the lock broken.
func (t Trial) Broke() bool { return t.Status == checker.Invalid }

// ReadMarginResult reads the results.json of a margin directory, with the
// limits of ReadRunResult.
func ReadMarginResult(dir string) (MarginResult, error) {
	var m MarginResult
	return m, readResults(filepath.Join(dir, ResultsFile), &m)
}
