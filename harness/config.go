// Package harness runs lockstorm runs: it sets up the cluster, runs the
// workload with the nemesis, heals, probes liveness, tears down, checks the
// history and writes the run directory.
package harness

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
)

// ErrBadConfig is wrapped by Validate: the run was asked for something
// impossible (exit 3).
var ErrBadConfig = errors.New("bad run configuration")

// ErrInfrastructure is wrapped by errors of the machinery around the lock
// under test: no Docker, a cluster that would not start (exit 4).
var ErrInfrastructure = errors.New("infrastructure failure")

// Config is one run: what to test and how hard, and where to put the
// result. The zero values of Run's optional fields mean "the default".
type Config struct {
	// Run is recorded in results.json.
	Run store.RunConfig
	// Wait is how long one acquire may wait and retry; 0 means the TTL
	// (at least one second).
	Wait time.Duration
	// OpTimeout bounds one lock call before it counts as indeterminate;
	// 0 means Wait plus five seconds.
	OpTimeout time.Duration
	// CheckBudget bounds the linearizability search; 0 means 60 s.
	CheckBudget time.Duration
	// StoreDir is the store root; "" means "store".
	StoreDir string
	// Console receives human-readable progress lines; nil discards them.
	Console io.Writer
	// Phase, if set, is told when the run enters each phase.
	Phase func(phase string)
	// Labels are added to the run's containers (a campaign id, say).
	Labels map[string]string
	// Command is the command line that reproduces the run; "" means
	// Execute writes one from Run.
	Command string
}

// DefaultConfig returns the settings of `lockstorm run` with no flags but a
// target.
func DefaultConfig() Config {
	return Config{
		Run: store.RunConfig{
			Workload:        "mutex",
			TimeLimit:       60 * time.Second,
			Concurrency:     5,
			Rate:            50,
			NemesisInterval: 10 * time.Second,
			Hold:            HoldAuto,
			Keys:            1,
		},
		StoreDir: store.DefaultDir,
	}
}

// Validate reports the first problem with c, wrapped in ErrBadConfig.
func (c Config) Validate() error {
	r := c.Run
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case r.Target == "":
		return bad("no target (--target)")
	case r.Workload == "":
		return bad("no workload (--workload)")
	case r.TimeLimit <= 0:
		return bad("--time-limit %s must be positive", r.TimeLimit)
	case r.Concurrency < 1 || r.Concurrency > 1000:
		return bad("--concurrency %d must be 1..1000", r.Concurrency)
	case r.Rate < 0:
		return bad("--rate %g must not be negative", r.Rate)
	case len(r.Nemeses) > 0 && r.NemesisInterval <= 0:
		return bad("--nemesis-interval %s must be positive", r.NemesisInterval)
	case r.Nodes < 0 || r.Nodes > 9:
		return bad("--nodes %d must be 1..9", r.Nodes)
	case r.TTL < 0:
		return bad("--ttl %s must not be negative", r.TTL)
	case r.Hold < 0 && r.Hold != HoldAuto:
		return bad("--hold %s must not be negative", r.Hold)
	case r.Keys < 1 || r.Keys > 1000:
		return bad("--keys %d must be 1..1000", r.Keys)
	case c.Wait < 0 || c.OpTimeout < 0 || c.CheckBudget < 0:
		return bad("timeouts must not be negative")
	}
	return nil
}

// DefaultTTL is the lease asked for when neither --ttl nor the target says
// otherwise.
const DefaultTTL = 2 * time.Second

// HoldAuto as Run.Hold asks for DefaultHold: a critical section sized to
// how the target's grants expire.
const HoldAuto time.Duration = -1

// ShortHold is the default critical section of a lock whose grants do not
// expire.
const ShortHold = 20 * time.Millisecond

// DefaultHold is the critical section a run uses when --hold is not given,
// for a target whose grants expire as e does, with lease ttl (the target's
// Lease() after Setup; 0 stands for DefaultTTL). It is the
// work each kind of lock is built for, so that the faults that break a
// kind of lock in production can break it here:
//   - grants that never expire: a short 20 ms section;
//   - a fixed TTL (Redis, Redlock): half the TTL, the work fits in the TTL
//     with room to spare, as the TTL is meant to be sized;
//   - a lease the client renews (etcd, ZooKeeper): two and a half leases,
//     work that relies on the renewals, so that a holder whose renewals
//     stop (its node paused or cut off) is still at work when its lease
//     runs out.
func DefaultHold(e targets.Expiry, ttl time.Duration) time.Duration {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	switch e {
	case targets.FixedExpiry:
		return ttl / 2
	case targets.RenewedExpiry:
		return ttl * 5 / 2
	}
	return ShortHold
}

// withDefaults fills in derived settings.
func (c Config) withDefaults() Config {
	if c.Run.TTL == 0 {
		c.Run.TTL = DefaultTTL
	}
	if c.Wait == 0 {
		c.Wait = c.Run.TTL
		if c.Wait < time.Second {
			c.Wait = time.Second
		}
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = c.Wait + 5*time.Second
	}
	if c.CheckBudget == 0 {
		c.CheckBudget = 60 * time.Second
	}
	if c.StoreDir == "" {
		c.StoreDir = store.DefaultDir
	}
	if c.Run.Options == nil {
		c.Run.Options = map[string]string{}
	}
	return c
}
