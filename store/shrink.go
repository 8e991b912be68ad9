package store

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"

	"github.com/lockstorm/lockstorm/plan"
)

// File names of a shrink, in the directory of the run it shrank.
const (
	// ShrinkDir holds the candidates, their replays and ShrinkFile.
	ShrinkDir = "shrink"
	// ShrinkFile, in ShrinkDir, is the ShrinkResult.
	ShrinkFile = "shrink.json"
	// ShrunkFile is the shrunk schedule, unless shrink --out says
	// otherwise.
	ShrunkFile = "shrunk-schedule.json"
)

// ShrinkResult is the content of RUN/shrink/shrink.json: what was shrunk,
// how, the schedule found and every candidate with its replays.
type ShrinkResult struct {
	// Run is the directory of the run shrunk.
	Run       string  `json:"run"`
	Threshold float64 `json:"threshold"`
	// Replays is how many times each candidate was replayed.
	Replays int `json:"replays"`
	// Faults is how many faults the run's own schedule had.
	Faults int `json:"faults"`
	// File is the shrunk schedule's file and Command the command that
	// runs exactly it again; both empty when none was found.
	File    string      `json:"file,omitempty"`
	Command string      `json:"command,omitempty"`
	Result  ShrinkFound `json:"result"`
	// Trials are each candidate's replays, by candidate number (from 1).
	Trials map[int][]Trial `json:"trials"`
	// Error is why no schedule was found, or why the search stopped.
	Error string `json:"error,omitempty"`
}

// ShrinkFound is the smallest schedule found, the violation rate of its
// replays, and every step of the search in order (shrink.Result).
// Rounds is how many rounds of Replays the rate is over (2 when the
// schedule was confirmed by a second round; 0 in files written before
// confirmation, read as 1), and Confirmed whether it kept its rate in the
// second.
type ShrinkFound struct {
	Schedule  plan.Schedule `json:"schedule"`
	Rate      float64       `json:"rate"`
	Rounds    int           `json:"rounds,omitempty"`
	Confirmed bool          `json:"confirmed,omitempty"`
	Steps     []ShrinkStep  `json:"steps"`
}

// A ShrinkStep is one candidate tried (shrink.Step): the phase that made
// it, the schedule, its rate and whether it was kept.
type ShrinkStep struct {
	Phase    string        `json:"phase"`
	Schedule plan.Schedule `json:"schedule"`
	Rate     float64       `json:"rate"`
	Kept     bool          `json:"kept"`
}

// Of is how many replays of the shrunk schedule its rate is over.
func (s ShrinkResult) Of() int { return s.Replays * max(s.Result.Rounds, 1) }

// Broke is how many replays of the shrunk schedule broke the lock, its
// rate over Of.
func (s ShrinkResult) Broke() int { return int(math.Round(s.Result.Rate * float64(s.Of()))) }

// ReadShrinkResult reads RUN/shrink/shrink.json of the run directory
// dir, with the limits of ReadRunResult. A run never shrunk gives an
// error wrapping fs.ErrNotExist.
func ReadShrinkResult(dir string) (ShrinkResult, error) {
	var s ShrinkResult
	err := readResults(filepath.Join(dir, ShrinkDir, ShrinkFile), &s)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("shrink of %s: %w", dir, err)
	}
	return s, err
}
