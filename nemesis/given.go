package nemesis

import (
	"time"

	"github.com/lockstorm/lockstorm/plan"
)

// paramCheckers decode the parameters of the built-in nemeses' events, as
// their Inject does at its top, so that a schedule given in a file
// (--schedule) is refused before anything starts rather than when its
// event comes.
var paramCheckers = map[string]func(plan.Event) error{
	clientPauseName: func(ev plan.Event) error { _, err := decodeClientPauseParams(ev); return err },
	clockName:       func(ev plan.Event) error { _, err := decodeClockParams(ev); return err },
	connDropName:    func(ev plan.Event) error { _, err := decodeConnDropParams(ev); return err },
	killName:        func(ev plan.Event) error { _, err := decodeKillParams(ev); return err },
	linkName:        func(ev plan.Event) error { _, err := decodeLinkParams(ev); return err },
	partitionName:   func(ev plan.Event) error { _, err := decodePartitionParams(ev); return err },
}

// CheckParams returns the *ParamError of the first parameter of ev that
// its nemesis would refuse, or nil. Events of nemeses added from outside
// (docs/extending.md) are checked when they are injected.
func CheckParams(ev plan.Event) error {
	if check, ok := paramCheckers[ev.Nemesis]; ok {
		return check(ev)
	}
	return nil
}

// Resize returns ev lasting d instead: its Duration, and the parameters
// that say how long its fault lasts, for a nemesis that implements
// Resizer (client-pause's stall). Shrinking a schedule shortens its
// faults with it.
func Resize(ev plan.Event, d time.Duration) plan.Event {
	if n, err := Lookup(ev.Nemesis); err == nil {
		if r, ok := n.(Resizer); ok {
			return r.Resize(ev, d)
		}
	}
	ev.Duration = d
	return ev
}

// Resize implements Resizer: the stall is the fault's length.
func (ClientPause) Resize(ev plan.Event, d time.Duration) plan.Event {
	ev.Duration = d
	params := map[string]string{}
	for k, v := range ev.Params {
		params[k] = v
	}
	for k, v := range (clientPauseParams{Stall: d}).encode() {
		params[k] = v
	}
	ev.Params = params
	return ev
}
