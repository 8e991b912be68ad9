package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/internal/wait"
	"github.com/lockstorm/lockstorm/targets"
)

// probeBound is how long the liveness probe gives each key: a lock whose
// holder crashed must come free once its lease runs out, so the bound is
// twice the lease plus the acquire wait, and at least ten seconds.
func (r *run) probeBound() time.Duration {
	b := 2*r.Plan.Lease + r.Plan.Wait
	if b < 10*time.Second {
		b = 10 * time.Second
	}
	return b
}

// probe is the final liveness check: after the heal, a fresh client per
// key must acquire and release it within the bound. It is recorded after a
// "liveness-probe" op of the nemesis, which the liveness checker looks for.
func (r *run) probe(ctx context.Context) error {
	bound := r.probeBound()
	val, _ := json.Marshal(map[string]int64{"bound": int64(bound)})
	if _, err := r.rec.Record(history.Op{Process: history.NemesisProcess, Type: history.Info, F: history.FLivenessProbe, Value: val}); err != nil {
		return err
	}
	next := maxProcess(r.rec.History()) + 1
	for i, key := range r.Workload.Keys(&r.Plan) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := r.probeKey(ctx, next+i, key, bound); err != nil {
			return err
		}
	}
	return nil
}

// probeKey tries to take key for up to bound, as one recorded acquire: the
// attempts that came back "busy" certainly had no effect, so retrying them
// inside one op is faithful to the history.
func (r *run) probeKey(ctx context.Context, process int, key string, bound time.Duration) error {
	c, err := r.newClient(ctx, process)
	if err != nil {
		return fmt.Errorf("%w: liveness client: %w", ErrInfrastructure, err)
	}
	defer c.Close()
	rec := func(op history.Op) error {
		op.Process, op.Key, op.Node = process, key, c.Node()
		_, err := r.rec.Record(op)
		return err
	}
	lease := int64(r.Plan.Lease)
	if err := rec(history.Op{Type: history.Invoke, F: history.FAcquire, Lease: lease}); err != nil {
		return err
	}
	deadline := time.Now().Add(bound)
	for {
		actx, cancel := context.WithTimeout(ctx, r.Plan.OpTimeout)
		g, err := c.Acquire(actx, key)
		cancel()
		switch {
		case err == nil:
			if err := rec(history.Op{Type: history.Ok, F: history.FAcquire, Lease: lease, Token: g.Token}); err != nil {
				return err
			}
			return r.probeRelease(ctx, c, rec, key)
		case errors.Is(err, targets.ErrNotAcquired) && time.Now().Before(deadline) && ctx.Err() == nil:
			wait.Sleep(ctx, 100*time.Millisecond)
			continue
		case errors.Is(err, targets.ErrNotAcquired):
			return rec(history.Op{Type: history.Fail, F: history.FAcquire, Lease: lease,
				Error: fmt.Sprintf("not acquired within %s: %v", bound, err)})
		default:
			return rec(history.Op{Type: history.Info, F: history.FAcquire, Lease: lease, Error: err.Error()})
		}
	}
}

func (r *run) probeRelease(ctx context.Context, c targets.Client, rec func(history.Op) error, key string) error {
	if err := rec(history.Op{Type: history.Invoke, F: history.FRelease}); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, r.Plan.OpTimeout)
	err := c.Release(rctx, key)
	cancel()
	switch {
	case err == nil:
		return rec(history.Op{Type: history.Ok, F: history.FRelease})
	case errors.Is(err, targets.ErrNotHeld):
		return rec(history.Op{Type: history.Fail, F: history.FRelease, Error: err.Error()})
	default:
		return rec(history.Op{Type: history.Info, F: history.FRelease, Error: err.Error()})
	}
}

func maxProcess(h history.History) int {
	m := -1
	for _, op := range h {
		if op.Process > m {
			m = op.Process
		}
	}
	return m
}
