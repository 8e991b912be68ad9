package nemesis

import (
	"context"
	"fmt"

	"github.com/lockstorm/lockstorm/nemesis/schedule"
)

// The client faults act on the workload's clients, not on nodes, so what
// can be seen of them from outside is the victim that Inject reports (a
// holder took the fault) and, for a stall, that the holder has not woken
// up yet.

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
func (c ClientPause) Observe(_ context.Context, env *Env, ev schedule.Event, details any) error {
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
	if pendingOf(env, c.Name()) {
		return fmt.Errorf("a stall is still pending")
	}
	return nil
}

// Observe implements Observer: a holder took the crash.
func (ClientCrash) Observe(_ context.Context, _ *Env, _ schedule.Event, details any) error {
	_, err := victimOf(details)
	return err
}

// Clean implements Observer: a crash leaves nothing behind in the
// nemesis; the crashed process is retired by the workload.
func (ClientCrash) Clean(context.Context, *Env) error { return nil }
