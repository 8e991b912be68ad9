package plan

import "time"

// An Event is one fault in a schedule: which nemesis injects what, on which
// targets, when, and for how long. Every event comes with its heal, at
// Start+Duration.
type Event struct {
	// Nemesis names the registered nemesis, e.g. "partition".
	Nemesis string `json:"nemesis"`
	// Mode is the nemesis-specific variant, e.g. "halves" or "bump".
	Mode string `json:"mode,omitempty"`
	// Targets are the nodes (n1..nN) or client processes the fault hits, as
	// chosen by the generator. Empty means the nemesis chooses when applied
	// (for example "the primary").
	Targets []string `json:"targets,omitempty"`
	// Start is the offset from the start of the workload.
	Start time.Duration `json:"start"`
	// Duration is how long the fault lasts before its heal.
	Duration time.Duration `json:"duration"`
	// Params carries nemesis-specific parameters (a clock offset, a restart
	// delay), as strings so that the schedule stays plain JSON.
	Params map[string]string `json:"params,omitempty"`
}

// End returns when the event's heal is due.
func (e Event) End() time.Duration { return e.Start + e.Duration }

// A Schedule is the ordered list of events of one run, with the seed that
// produced it.
type Schedule struct {
	Seed   int64   `json:"seed"`
	Events []Event `json:"events"`
}
