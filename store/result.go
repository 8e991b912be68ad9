// Package store owns the on-disk layout of runs and campaigns (DESIGN.md,
// "Store layout") and the plain data written there. It does no Docker work,
// so reports and the check command can use it freely.
package store

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// A Note is something a reader of the report must know that is not an
// anomaly: a fault that does not apply to this target, fencing that the
// target cannot offer, a lease the servers granted longer than asked.
type Note struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// RunResult is the content of a run's results.json.
type RunResult struct {
	// ID is the run's directory name under its cell, a timestamp.
	ID string `json:"id"`
	// Cell is "<target>-<workload>-<nemesis>", the run's directory in
	// the store. Two campaign cells that differ only in other settings
	// (a plain and a fenced one) share it: Campaign names the cell.
	Cell string `json:"cell"`
	// Campaign says which campaign cell the run was made for; nil for a
	// run of its own (lockstorm run) and in results written before it
	// was recorded.
	Campaign *CampaignOf `json:"campaign,omitempty"`
	// Status is the run's verdict: over the checkers that Plan.Judge
	// names, or over all checkers when it names none.
	Status checker.Status `json:"status"`
	// AllCheckers is the verdict over all checkers of a run judged by
	// some (Plan.Judge); empty when the plan names none, as Status is
	// then that verdict.
	AllCheckers checker.Status `json:"all_checkers,omitempty"`
	// Summary is one plain sentence saying what happened.
	Summary string `json:"summary"`
	// Command reproduces the run: Plan.Command().
	Command string `json:"command"`
	// Plan is everything the run used, its fault schedule included.
	Plan    plan.Plan        `json:"plan"`
	Results []checker.Result `json:"results"`
	Notes   []Note           `json:"notes,omitempty"`
	// Started is the wall-clock start of the run; Duration its length.
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration"`
	// Ops is the number of lines in history.jsonl.
	Ops int `json:"ops"`
	// FirstViolation is the time (ns since start) of the earliest anomaly of
	// an invalid run, or -1.
	FirstViolation int64 `json:"first_violation"`
	// WorkloadStart is the time (ns since start, the history's clock) at
	// which the workload and the fault schedule began, after the cluster,
	// the service and the clients were set up; 0 in results written before
	// it was recorded.
	WorkloadStart int64 `json:"workload_start,omitempty"`
	// Error is set when the run itself failed (infrastructure), in which case
	// the verdict covers only the history recorded up to the failure.
	Error string `json:"error,omitempty"`
	// Leftover says what the run could not remove at its end; nil when
	// its teardown removed everything.
	Leftover *Leftover `json:"leftover,omitempty"`
	// NoFaults says why no fault struck, when nemeses were asked for and
	// none did; empty otherwise (see NoFaults).
	NoFaults string `json:"no_faults,omitempty"`
	// ServerVersion is the version of the lock server that ran, as the
	// running server reported it right after Setup ("etcd 3.4.23":
	// targets.Versioner); empty when the service cannot say, when it
	// did not answer, and in results written before it was recorded.
	ServerVersion string `json:"server_version,omitempty"`
	// Phases are where the run's time went: each phase of the run
	// (provision, image, cluster, setup, prepare, clients, workload, heal,
	// quiesce, liveness, logs, teardown, check, report) that it went
	// through, in order, with how long it took. Nil in results written
	// before they were recorded.
	Phases []Phase `json:"phases,omitempty"`
	// StoppedEarlyAt is the time (ns since start, the history's clock) at
	// which the workload was ended early because a violation had been
	// shown (Plan.StopAfterViolation); 0 when it ran its full time limit.
	StoppedEarlyAt int64 `json:"stopped_early_at,omitempty"`
}

// A CampaignOf names the campaign cell a run was made for.
type CampaignOf struct {
	// Name is the campaign's name, ID its directory under
	// store/campaigns (which a merge of shards may give another).
	Name string `json:"name,omitempty"`
	ID   string `json:"id,omitempty"`
	// Cell is the cell's name in the campaign file
	// ("etcd-client-pause-fenced").
	Cell string `json:"cell"`
}

// A Phase is one step of a run with how long it took, in seconds.
type Phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// A Leftover is what a run's teardown could not remove: its containers
// and network may still be there.
type Leftover struct {
	// Error is why the teardown failed.
	Error string `json:"error"`
	// Label selects what may be left: the containers and the network
	// that carry it ("lockstorm.run=<run id>").
	Label string `json:"label"`
	// Command removes it once the engine answers again.
	Command string `json:"command"`
}

// TimeToViolation is how long into the workload the first violation came
// (FirstViolation less WorkloadStart), or -1 for a run without one. The
// setup before the workload, seconds that depend on the service and on the
// machine's load, is not counted.
func TimeToViolation(firstViolation, workloadStart int64) int64 {
	if firstViolation < 0 {
		return -1
	}
	return max(firstViolation-workloadStart, 0)
}

// legacyConfig is the "config" object of results.json files written before
// runs recorded their plan; ReadRunResult turns it into a plan.
type legacyConfig struct {
	Target          string        `json:"target"`
	Workload        string        `json:"workload"`
	Variant         string        `json:"variant"`
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
	Options         option.Values `json:"options"`
}

// UnmarshalJSON reads a results.json, also one written before runs
// recorded their plan (with "config" and "schedule" instead).
func (r *RunResult) UnmarshalJSON(b []byte) error {
	type plain RunResult
	var v struct {
		plain
		Config   *legacyConfig  `json:"config"`
		Schedule *plan.Schedule `json:"schedule"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = RunResult(v.plain)
	if c := v.Config; c != nil && r.Plan.Target == "" {
		r.Plan = plan.Plan{
			Target: c.Target, Workload: c.Workload, Variant: c.Variant, Nemeses: c.Nemeses,
			TimeLimit: c.TimeLimit, Concurrency: c.Concurrency, Rate: c.Rate,
			NemesisInterval: c.NemesisInterval, Seed: c.Seed, TTL: c.TTL, Lease: c.TTL,
			Hold: c.Hold, Keys: c.Keys, Fencing: c.Fencing, Options: c.Options,
		}
		for i := 1; i <= c.Nodes; i++ {
			r.Plan.Nodes = append(r.Plan.Nodes, plan.Node{Name: "n" + strconv.Itoa(i)})
		}
		if v.Schedule != nil {
			r.Plan.Schedule = *v.Schedule
		}
	}
	return nil
}
