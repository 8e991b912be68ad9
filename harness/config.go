// Package harness runs lockstorm runs: it resolves the plan, sets up the
// cluster, runs the workload with the nemesis, heals, probes liveness,
// tears down, checks the history and writes the run directory.
package harness

import (
	"errors"
	"io"
	"time"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
)

// ErrBadConfig is wrapped by errors about what a run was asked to do: an
// unknown name, a setting out of range, an option a declaration refuses
// (exit 3). They come before anything starts.
var ErrBadConfig = errors.New("bad run configuration")

// ErrBadInput is wrapped by errors about a file the tool was given that it
// cannot use: a results.json that does not parse, is too large or is not
// a regular file (exit 3).
var ErrBadInput = errors.New("bad input")

// ErrInfrastructure is wrapped by errors of the machinery around the lock
// under test: no Docker, a cluster that would not start (exit 4).
var ErrInfrastructure = errors.New("infrastructure failure")

// Config is one run: what to test and how hard, where it runs, and where
// to put the result.
type Config struct {
	// Plan is what the run is asked to do; its zero fields mean "the
	// default" where plan.Plan.Validate allows them. Execute resolves it.
	Plan plan.Plan
	// Runtime starts the run's nodes. Targets that run in process need
	// none; the caller owns it and closes it.
	Runtime runtime.Runtime
	// StoreDir is the store root; "" means "store".
	StoreDir string
	// Console receives human-readable progress lines; nil discards them.
	Console io.Writer
	// Phase, if set, is told when the run enters each phase.
	Phase func(phase string)
	// Labels are added to the run's containers (a campaign id, say).
	Labels map[string]string
	// Campaign names the campaign cell the run is made for; it goes into
	// results.json and the run's page. Nil for a run of its own.
	Campaign *store.CampaignOf
	// ClientBinary is the lockstorm binary that runs as `lockstorm
	// client` in the client containers when the plan's client is
	// plan.ClientProcess: the running binary, for the command line. It
	// must be built for linux without cgo (make build).
	ClientBinary string
	// Released, if set, is called once the run needs its servers no
	// longer: when the liveness probe ended, or whatever ended the run
	// before it (err, nil for a run that went to its end), and before the
	// server logs are copied, the containers removed and the history
	// checked. A campaign starts a cell's next run then, so that one run
	// tears down while the next sets up. Execute calls it at most once;
	// a run that returns before it got that far (a bad plan, a panic)
	// does not call it.
	Released func(err error)
}

// DefaultConfig returns the settings of `lockstorm run` with no flags but a
// target.
func DefaultConfig() Config {
	return Config{Plan: plan.Default(), StoreDir: store.DefaultDir}
}

// ShortHold is the default critical section of a lock whose grants do not
// expire.
const ShortHold = 20 * time.Millisecond

// DefaultCheckBudget bounds the linearizability search when the plan
// gives no budget.
const DefaultCheckBudget = 60 * time.Second

// DefaultHold is the critical section a run uses when --hold is not given,
// for a target whose grants expire as e does, with the lease the service
// honours, lease (plan.Plan.Lease; 0 stands for plan.DefaultTTL). It is the
// work each kind of lock is built for, so that the faults that break a kind
// of lock in production can break it here:
//   - grants that never expire: a short 20 ms section;
//   - a fixed TTL (Redis, Redlock): half the lease, the work fits in the
//     lease with room to spare, as a TTL is meant to be sized;
//   - a lease the client renews (etcd, ZooKeeper): two and a half leases,
//     work that relies on the renewals, so that a holder whose renewals
//     stop (its node paused or cut off) is still at work when its lease
//     runs out.
func DefaultHold(e targets.Expiry, lease time.Duration) time.Duration {
	if lease <= 0 {
		lease = plan.DefaultTTL
	}
	switch e {
	case targets.FixedExpiry:
		return lease / 2
	case targets.RenewedExpiry:
		return lease * 5 / 2
	}
	return ShortHold
}
