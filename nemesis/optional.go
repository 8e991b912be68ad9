package nemesis

// The optional powers of a nemesis, beside the Nemesis interface: each is
// found by a type assertion.

import (
	"context"
	"time"

	"github.com/lockstorm/lockstorm/plan"
)

// An Observer checks a nemesis's fault from outside the nemesis that
// applied it, by probing the nodes rather than trusting what Inject
// believes it did. A run never calls it. The conformance test
// (conformance_docker_test.go) requires it of every nemesis in All that
// applies to its five-node cluster, and calls it after every Inject and
// Heal, with every mode that the nemesis's "<name>.mode" option declares,
// so a new nemesis is tested with no other change.
type Observer interface {
	// Observe returns nil if the fault of ev is in effect now. details is
	// what Inject returned for ev.
	Observe(ctx context.Context, env *Env, ev plan.Event, details any) error
	// Clean returns nil if nothing the nemesis does is left on the run:
	// no rules, no stopped process, no shifted clock, every server up.
	Clean(ctx context.Context, env *Env) error
}

// A Preparer is a nemesis that must be in place before any client
// connects, such as the link nemesis's proxies. The harness calls Prepare
// once, after the service is set up and before the clients start; the
// nemesis's Teardown undoes it.
type Preparer interface {
	Prepare(ctx context.Context, env *Env) error
}

// A Resizer is a nemesis whose events say how long their fault lasts in
// their parameters too (client-pause's stall), not only in their
// Duration. Resize returns ev lasting d, with both changed.
type Resizer interface {
	Resize(ev plan.Event, d time.Duration) plan.Event
}
