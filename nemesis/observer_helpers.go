package nemesis

import (
	"context"

	"github.com/lockstorm/lockstorm/nemesis/schedule"
)

// An Observer checks a fault from outside the nemesis that applied it: by
// probing the nodes, not by trusting what Inject believes it did. The
// conformance test (conformance_docker_test.go) calls it for every nemesis
// in All, so a new nemesis is tested by implementing these two methods; a
// nemesis without them fails that test.
type Observer interface {
	// Observe returns nil if the fault of ev is in effect now. details is
	// what Inject returned for ev.
	Observe(ctx context.Context, env *Env, ev schedule.Event, details any) error
	// Clean returns nil if nothing the nemesis does is left on the run:
	// no rules, no stopped process, no shifted clock, every server up.
	Clean(ctx context.Context, env *Env) error
}

// A Moder names the modes a nemesis takes in its "<name>.mode" option, so
// that tests and the catalogue can go through each.
type Moder interface {
	// Modes lists every mode, including those not drawn by default.
	Modes() []string
}

// peek returns what Inject kept for ev without forgetting it.
func (e *Env) peek(ev schedule.Event) (any, bool) {
	return e.pending.Load(eventKey{ev.Nemesis, ev.Start})
}
