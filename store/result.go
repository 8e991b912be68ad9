// Package store owns the on-disk layout of runs and campaigns (DESIGN.md,
// "Store layout") and the plain data written there. It does no Docker work,
// so reports and the check command can use it freely.
package store

import (
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/nemesis/schedule"
)

// RunConfig is what a run was asked to do. It is recorded in results.json so
// that the run can be reproduced from its report.
type RunConfig struct {
	Target   string `json:"target"`
	Workload string `json:"workload"`
	// Variant selects a workload's variant, e.g. "idempotency-key" for
	// the payment workload; "" is the workload's default.
	Variant         string        `json:"variant,omitempty"`
	Nemeses         []string      `json:"nemeses"`
	TimeLimit       time.Duration `json:"time_limit"`
	Concurrency     int           `json:"concurrency"`
	Rate            float64       `json:"rate"`
	NemesisInterval time.Duration `json:"nemesis_interval"`
	Seed            int64         `json:"seed"`
	Nodes           int           `json:"nodes"`
	TTL             time.Duration `json:"ttl"`
	Hold            time.Duration `json:"hold"`
	Keys            int           `json:"keys"`
	Fencing         bool          `json:"fencing"`
	// Options are target-, workload- and nemesis-specific settings given as
	// name=value, e.g. "kill.restart-delay=0s" or "redlock.quorum=3".
	Options map[string]string `json:"options,omitempty"`
}

// A Note is something a reader of the report must know that is not an
// anomaly: a fault that does not apply to this target, fencing that the
// target cannot offer.
type Note struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// RunResult is the content of a run's results.json.
type RunResult struct {
	// ID is the run's directory name under its cell, a timestamp.
	ID string `json:"id"`
	// Cell is "<target>-<workload>-<nemesis>".
	Cell string `json:"cell"`
	// Status is the overall verdict over all checkers.
	Status checker.Status `json:"status"`
	// Summary is one plain sentence saying what happened.
	Summary string `json:"summary"`
	// Command reproduces the run.
	Command  string            `json:"command"`
	Config   RunConfig         `json:"config"`
	Schedule schedule.Schedule `json:"schedule"`
	Results  []checker.Result  `json:"results"`
	Notes    []Note            `json:"notes,omitempty"`
	// Started is the wall-clock start of the run; Duration its length.
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration"`
	// Ops is the number of lines in history.jsonl.
	Ops int `json:"ops"`
	// FirstViolation is the time (ns since start) of the earliest anomaly of
	// an invalid run, or -1.
	FirstViolation int64 `json:"first_violation"`
	// Error is set when the run itself failed (infrastructure), in which case
	// the verdict covers only the history recorded up to the failure.
	Error string `json:"error,omitempty"`
}
