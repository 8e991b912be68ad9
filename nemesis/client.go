package nemesis

import (
	"context"
	"fmt"
	"math/rand"
	"time"

	"github.com/lockstorm/lockstorm/nemesis/schedule"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// ClientPause stalls a lock holder before its resource write, for longer
// than the lease: a holder at work in its critical section when the fault
// starts, at once, or else the next client that acquires a lock, right
// after its acquire. This is the GC pause of
// Kleppmann's 2016 critique of Redlock, and the chapter's "process still
// working when the TTL expires". Only fencing can save the resource.
type ClientPause struct{}

// clientPauseName is the name of ClientPause.
const clientPauseName = "client-pause"

// clientStallOpt is how long a holder stalls.
var clientStallOpt = option.Duration{Name: "client-pause.stall", Positive: true,
	Help: "how long the holder stalls (default: twice the lease, at least 1s)"}

// Describe implements Nemesis.
func (ClientPause) Describe() Descriptor {
	return Descriptor{
		Name:        clientPauseName,
		Description: "stall a lock holder (one at work now, else the next) before its write for longer than the lease (a GC pause)",
		Options:     option.Specs(clientStallOpt),
	}
}

// Plan draws a stall of client-pause.stall (default twice the honoured
// lease, at least one second).
func (ClientPause) Plan(rng *rand.Rand, p schedule.PlanParams) (plan.Event, error) {
	def := 2 * p.Lease
	if def < time.Second {
		def = time.Second
	}
	stall, ok := clientStallOpt.Lookup(p.Opts)
	if !ok {
		stall = def
	}
	return plan.Event{Duration: stall, Params: clientPauseParams{Stall: stall}.encode()}, nil
}

// clientPauseParams are the parameters of a client-pause event.
type clientPauseParams struct {
	// Stall is how long the holder stalls.
	Stall time.Duration
}

// encode writes p as the parameters of a client-pause event: "stall".
func (p clientPauseParams) encode() map[string]string {
	return map[string]string{"stall": p.Stall.String()}
}

// decodeClientPauseParams reads the parameters of a client-pause event.
func decodeClientPauseParams(ev plan.Event) (clientPauseParams, error) {
	d := decodeParams(clientPauseName, ev)
	p := clientPauseParams{Stall: d.duration("stall")}
	return p, d.err
}

// Inject arms the stall and returns once a holder has started it.
func (ClientPause) Inject(ctx context.Context, env *Env, ev plan.Event) (any, error) {
	params, err := decodeClientPauseParams(ev)
	if err != nil {
		return nil, err
	}
	stall := params.Stall
	v, done, err := env.Faults.Stall(ctx, stall)
	if err != nil {
		return nil, err
	}
	env.stash(ev, done)
	return map[string]any{"process": v.Process, "key": v.Key, "stall": stall.String()}, nil
}

// Heal waits until the stalled holder wakes up.
func (ClientPause) Heal(ctx context.Context, env *Env, ev plan.Event) (any, error) {
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

// clientCrashName is the name of ClientCrash.
const clientCrashName = "client-crash"

// Describe implements Nemesis.
func (ClientCrash) Describe() Descriptor {
	return Descriptor{
		Name:        clientCrashName,
		Description: "crash the next lock holder: it abandons its session without releasing",
	}
}

// Plan draws a crash; the event's window only marks it on the timeline.
func (ClientCrash) Plan(rng *rand.Rand, p schedule.PlanParams) (plan.Event, error) {
	d := p.Lease
	if d <= 0 || d > p.MaxDuration {
		d = p.MaxDuration
	}
	return plan.Event{Duration: d}, nil
}

// Inject arms the crash and returns once a holder has crashed.
func (ClientCrash) Inject(ctx context.Context, env *Env, _ plan.Event) (any, error) {
	v, err := env.Faults.Crash(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"process": v.Process, "key": v.Key}, nil
}

// Heal implements Nemesis: a crashed client stays crashed; its process is
// retired and the workload carries on with a new one.
func (ClientCrash) Heal(context.Context, *Env, plan.Event) (any, error) { return nil, nil }

// Teardown implements Nemesis.
func (ClientCrash) Teardown(context.Context, *Env) error { return nil }

// victimOf reads the victim's process from the details of a client fault.
func victimOf(details any) (int, error) {
	m, ok := details.(map[string]any)
	if !ok {
		return 0, fmt.Errorf("inject reported %T, want a victim", details)
	}
	p, ok := m["process"].(int)
	if !ok {
		return 0, fmt.Errorf("inject reported no victim process: %v", m)
	}
	return p, nil
}

// pendingOf reports whether anything of the named nemesis is kept between
// an Inject and its Heal.
func pendingOf(env *Env, name string) bool {
	found := false
	env.pending.Range(func(k, _ any) bool {
		if key, ok := k.(eventKey); ok && key.nemesis == name {
			found = true
			return false
		}
		return true
	})
	return found
}

// Observe implements Observer: a holder took the stall and is still
// stalled.
func (c ClientPause) Observe(_ context.Context, env *Env, ev plan.Event, details any) error {
	if _, err := victimOf(details); err != nil {
		return err
	}
	v, ok := env.peek(ev)
	if !ok {
		return fmt.Errorf("no record of the stall")
	}
	select {
	case <-v.(<-chan struct{}):
		return fmt.Errorf("the stalled holder already woke up")
	default:
		return nil
	}
}

// Clean implements Observer: no stall is waiting for its heal.
func (c ClientPause) Clean(_ context.Context, env *Env) error {
	if pendingOf(env, clientPauseName) {
		return fmt.Errorf("a stall is still pending")
	}
	return nil
}

// Observe implements Observer: a holder took the crash.
func (ClientCrash) Observe(_ context.Context, _ *Env, _ plan.Event, details any) error {
	_, err := victimOf(details)
	return err
}

// Clean implements Observer: a crash leaves nothing behind in the
// nemesis; the crashed process is retired by the workload.
func (ClientCrash) Clean(context.Context, *Env) error { return nil }
