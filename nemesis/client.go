package nemesis

import (
	"context"
	"fmt"
	"math/rand"
	"time"

	"github.com/lockstorm/lockstorm/nemesis/schedule"
)

// ClientPause stalls the next client that acquires a lock, between its
// acquire and its resource write, for longer than the lease: the GC pause of
// Kleppmann's 2016 critique of Redlock, and the chapter's "process still
// working when the TTL expires". Only fencing can save the resource.
type ClientPause struct{}

// Name implements Nemesis.
func (ClientPause) Name() string { return "client-pause" }

// OptionNames lists the --opt names ClientPause reads.
func (ClientPause) OptionNames() []string {
	return []string{"client-pause.stall"}
}

// Description implements Nemesis.
func (ClientPause) Description() string {
	return "stall the next lock holder before its write for longer than the lease (a GC pause)"
}

// Plan draws a stall of client-pause.stall (default twice the TTL, at least
// one second).
func (ClientPause) Plan(rng *rand.Rand, p schedule.PlanParams) (schedule.Event, error) {
	def := 2 * p.TTL
	if def < time.Second {
		def = time.Second
	}
	stall, err := durationOpt(p.Opts, "client-pause.stall", def)
	if err != nil {
		return schedule.Event{}, err
	}
	return schedule.Event{Duration: stall, Params: map[string]string{"stall": stall.String()}}, nil
}

// Applicable implements Nemesis: every target has clients.
func (ClientPause) Applicable(*Env) error { return nil }

// Inject arms the stall and returns once a holder has started it.
func (ClientPause) Inject(ctx context.Context, env *Env, ev schedule.Event) (any, error) {
	stall, err := time.ParseDuration(ev.Params["stall"])
	if err != nil {
		stall = ev.Duration
	}
	v, done, err := env.Faults.Stall(ctx, stall)
	if err != nil {
		return nil, err
	}
	env.stash(ev, done)
	return map[string]any{"process": v.Process, "key": v.Key, "stall": stall.String()}, nil
}

// Heal waits until the stalled holder wakes up.
func (ClientPause) Heal(ctx context.Context, env *Env, ev schedule.Event) (any, error) {
	d, ok := env.take(ev)
	if !ok {
		return nil, nil
	}
	select {
	case <-d.(<-chan struct{}):
		return nil, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for stalled client: %w", ctx.Err())
	}
}

// Teardown implements Nemesis: a stall ends by itself.
func (ClientPause) Teardown(context.Context, *Env) error { return nil }

// ClientCrash makes the next client that acquires a lock abandon its
// session without releasing, as a crashed server would. A lock with a lease
// comes free when the lease runs out; a lock without one (the chapter's
// naive row lock) stays held forever, which the liveness probe shows.
type ClientCrash struct{}

// Name implements Nemesis.
func (ClientCrash) Name() string { return "client-crash" }

// Description implements Nemesis.
func (ClientCrash) Description() string {
	return "crash the next lock holder: it abandons its session without releasing"
}

// Plan draws a crash; the event's window only marks it on the timeline.
func (ClientCrash) Plan(rng *rand.Rand, p schedule.PlanParams) (schedule.Event, error) {
	d := p.TTL
	if d <= 0 || d > p.MaxDuration {
		d = p.MaxDuration
	}
	return schedule.Event{Duration: d}, nil
}

// Applicable implements Nemesis: every target has clients.
func (ClientCrash) Applicable(*Env) error { return nil }

// Inject arms the crash and returns once a holder has crashed.
func (ClientCrash) Inject(ctx context.Context, env *Env, _ schedule.Event) (any, error) {
	v, err := env.Faults.Crash(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"process": v.Process, "key": v.Key}, nil
}

// Heal implements Nemesis: a crashed client stays crashed; its process is
// retired and the workload carries on with a new one.
func (ClientCrash) Heal(context.Context, *Env, schedule.Event) (any, error) { return nil, nil }

// Teardown implements Nemesis.
func (ClientCrash) Teardown(context.Context, *Env) error { return nil }
