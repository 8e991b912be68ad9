package plan

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrBadPlan is wrapped by every error of Validate.
var ErrBadPlan = errors.New("bad run settings")

// Limits of the settings of one run (docs/campaigns.md lists them too).
const (
	MaxNodes        = 9
	MaxConcurrency  = 1000
	MaxKeys         = 1000
	MaxRate         = 100000
	MinRate         = 0.01
	MaxTimeLimit    = 24 * time.Hour
	MinInterval     = 100 * time.Millisecond
	MaxFaults       = 10000
	MaxLease        = time.Hour
	MaxHold         = time.Hour
	MaxCheckBudget  = time.Hour
	MaxSeed         = 1<<53 - 1
	DefaultTTL      = 2 * time.Second
	DefaultInterval = 10 * time.Second
)

// A FieldError names the setting that is wrong by the name it has on the
// command line (without the dashes) and in a campaign file.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap makes a FieldError an ErrBadPlan.
func (e *FieldError) Unwrap() error { return ErrBadPlan }

func bad(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate reports the first setting of p that is out of range, as a
// *FieldError. It is meant for a plan built from Default() and the
// settings a user gave: the fields whose zero means "the default" (nodes,
// ttl, wait, op timeout, check budget, seed) may be zero, the others must
// be in range. Names of targets, workloads and nemeses are checked by the
// harness, which knows them.
func (p *Plan) Validate() error {
	switch {
	case p.Target == "":
		return bad("target", "missing")
	case p.TimeLimit <= 0 || p.TimeLimit > MaxTimeLimit:
		return bad("time-limit", "%s must be positive and at most %s", p.TimeLimit, MaxTimeLimit)
	case p.Concurrency < 1 || p.Concurrency > MaxConcurrency:
		return bad("concurrency", "%d must be 1..%d", p.Concurrency, MaxConcurrency)
	case math.IsNaN(p.Rate) || math.IsInf(p.Rate, 0) || p.Rate < 0 || p.Rate > MaxRate:
		return bad("rate", "%g must be 0 (unlimited) or %g..%d lock attempts per second", p.Rate, MinRate, MaxRate)
	case p.Rate > 0 && p.Rate < MinRate:
		return bad("rate", "%g is below %g attempts per second; use 0 for unlimited", p.Rate, MinRate)
	case p.NemesisInterval < MinInterval || p.NemesisInterval > MaxTimeLimit:
		return bad("nemesis-interval", "%s must be at least %s", p.NemesisInterval, MinInterval)
	case len(p.Nodes) > MaxNodes:
		return bad("nodes", "%d must be 1..%d", len(p.Nodes), MaxNodes)
	case p.TTL < 0 || p.TTL > MaxLease:
		return bad("ttl", "%s must be 0 (the default, %s) or positive, at most %s", p.TTL, DefaultTTL, MaxLease)
	case p.Hold != HoldAuto && (p.Hold < 0 || p.Hold > MaxHold):
		return bad("hold", "%s must be auto or 0..%s", p.Hold, MaxHold)
	case p.Keys < 1 || p.Keys > MaxKeys:
		return bad("keys", "%d must be 1..%d", p.Keys, MaxKeys)
	case p.Wait < 0 || p.Wait > MaxLease:
		return bad("wait", "%s must be 0 (the lease, at least 1s) or positive, at most %s", p.Wait, MaxLease)
	case p.OpTimeout < 0 || p.OpTimeout > MaxLease:
		return bad("op-timeout", "%s must be positive, at most %s", p.OpTimeout, MaxLease)
	case p.CheckBudget < 0 || p.CheckBudget > MaxCheckBudget:
		return bad("check-budget", "%s must be positive, at most %s", p.CheckBudget, MaxCheckBudget)
	case p.StopAfterViolation < 0 || p.StopAfterViolation > MaxTimeLimit:
		return bad("stop-after-violation", "%s must be 0 (off) or positive, at most %s", p.StopAfterViolation, MaxTimeLimit)
	case p.Seed < 0 || p.Seed > MaxSeed:
		return bad("seed", "%d must be 1..%d (0 picks one)", p.Seed, int64(MaxSeed))
	}
	if len(p.Nemeses) > 0 && p.TimeLimit/p.NemesisInterval > MaxFaults {
		return bad("nemesis-interval", "%s gives more than %d faults in %s", p.NemesisInterval, MaxFaults, p.TimeLimit)
	}
	return nil
}

// Default returns the settings of `lockstorm run` with no flags but a
// target: the mutex workload for 60 s with 5 clients at 50 attempts per
// second, a fault every 10 s, one key, and the hold sized from the lease.
func Default() Plan {
	return Plan{
		Workload:        "mutex",
		TimeLimit:       60 * time.Second,
		Concurrency:     5,
		Rate:            50,
		NemesisInterval: DefaultInterval,
		Hold:            HoldAuto,
		Keys:            1,
	}
}
