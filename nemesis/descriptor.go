package nemesis

import "github.com/lockstorm/lockstorm/option"

// A Descriptor says what a nemesis is, in one value: what `lockstorm
// nemeses` lists, which --opt settings a run checks against it, and where
// it applies. Nemesis.Describe returns it.
type Descriptor struct {
	// Name is what --nemesis, the schedule (plan.Event.Nemesis) and the
	// history ("start-<name>") call the nemesis: lower-case letters,
	// digits and dashes.
	Name string
	// Description is one line for `lockstorm nemeses`, without a full
	// stop.
	Description string
	// Options declares the --opt settings the nemesis reads, each named
	// "<name>.<option>". A mode option is named "<name>.mode" and lists
	// its modes as Choices: the conformance test tries each of them.
	Options []option.Spec
	// Applies says whether the nemesis can act on the run's target: nil,
	// or an error wrapping ErrNotApplicable that says why not, which the
	// run records as a note and goes on without the nemesis. Another
	// error refuses the run. A nil Applies applies to every target.
	Applies func(env *Env) error
}

// Applicable calls d.Applies, if there is one.
func (d Descriptor) Applicable(env *Env) error {
	if d.Applies == nil {
		return nil
	}
	return d.Applies(env)
}
