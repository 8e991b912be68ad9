package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrBadSchedule is wrapped by every error of ParseSchedule and
// Schedule.Check: a schedule file that cannot be run as it is written.
var ErrBadSchedule = errors.New("bad schedule")

// A ScheduleError says what is wrong in a schedule, and where: a line of
// the file for JSON that does not parse, or the event (by its index in
// events, from 0) and its field.
type ScheduleError struct {
	// Line is the line of the file, from 1; 0 when the error is not tied
	// to one.
	Line int
	// Event is the index of the event in events, or -1.
	Event int
	// Field is the event's JSON field ("start", "duration", "nemesis"),
	// or "".
	Field string
	Msg   string
}

func (e *ScheduleError) Error() string {
	var where string
	switch {
	case e.Event >= 0 && e.Field != "":
		where = fmt.Sprintf("events[%d].%s: ", e.Event, e.Field)
	case e.Event >= 0:
		where = fmt.Sprintf("events[%d]: ", e.Event)
	}
	if e.Line > 0 {
		where = fmt.Sprintf("line %d: ", e.Line) + where
	}
	return where + e.Msg
}

// Unwrap makes a ScheduleError an ErrBadSchedule.
func (e *ScheduleError) Unwrap() error { return ErrBadSchedule }

// EventError returns a *ScheduleError about field of the event at index i.
func EventError(i int, field, format string, args ...any) error {
	return &ScheduleError{Event: i, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ParseSchedule reads a schedule file: either a bare schedule, the JSON of
// a Schedule ({"seed": ..., "events": [...]}), or a run's results.json,
// whose plan.schedule it takes, so that a run's own schedule can be given
// again as it is or cut out of its results. A bare schedule is read
// strictly: a field that a schedule or an event does not have is an
// error, as is anything after the object. Errors are *ScheduleError
// values, with the line where the JSON does not parse.
func ParseSchedule(data []byte) (Schedule, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return Schedule{}, jsonError(data, 0, err)
	}
	raw, base := json.RawMessage(data), 0
	if pl, ok := top["plan"]; ok {
		var p map[string]json.RawMessage
		if err := json.Unmarshal(pl, &p); err != nil {
			return Schedule{}, jsonError(data, bytes.Index(data, pl), err)
		}
		s, ok := p["schedule"]
		if !ok || string(s) == "null" {
			return Schedule{}, &ScheduleError{Event: -1, Msg: "a results.json whose plan has no schedule"}
		}
		raw, base = s, bytes.Index(data, s)
	} else if _, ok := top["events"]; !ok {
		return Schedule{}, &ScheduleError{Event: -1, Msg: `neither a schedule ({"seed": S, "events": [...]}) nor a run's results.json (with plan.schedule)`}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var s Schedule
	if err := dec.Decode(&s); err != nil {
		return Schedule{}, jsonError(data, base, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Schedule{}, &ScheduleError{Line: lineAt(data, base+int(dec.InputOffset())), Event: -1, Msg: "more after the schedule's object"}
	}
	if s.Events == nil {
		return Schedule{}, &ScheduleError{Event: -1, Msg: "no events list (an empty schedule is \"events\": [])"}
	}
	return s, nil
}

// jsonError turns an error of encoding/json on data[base:] into a
// *ScheduleError with the line of data where it happened, when encoding/json
// says where.
func jsonError(data []byte, base int, err error) error {
	if base < 0 {
		base = 0
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &ScheduleError{Line: lineAt(data, base+int(syn.Offset)), Event: -1, Msg: "not JSON: " + syn.Error()}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the top level"
		}
		return &ScheduleError{Line: lineAt(data, base+int(typ.Offset)), Event: -1,
			Msg: fmt.Sprintf("%s: want %s, not a JSON %s", field, typ.Type, typ.Value)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ScheduleError{Event: -1, Msg: "the JSON ends early"}
	}
	return &ScheduleError{Event: -1, Msg: err.Error()}
}

// lineAt returns the line, from 1, of the byte at offset in data.
func lineAt(data []byte, offset int) int {
	offset = min(max(offset, 0), len(data))
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// Check reports the first event of s that the run cannot apply as it is
// written, for a run of timeLimit: a missing nemesis, a negative start, a
// duration that is not positive, a fault that would outlast the time
// limit, events out of order of their starts (the runner applies them in
// the order listed, so an event listed after a later one would start
// late), or more than MaxFaults events. Events may overlap in time: a
// drawn schedule can hold a fault that outlasts the interval to the next
// one, and the runner then starts the next one when the first is healed,
// as it does for a drawn schedule. Names of nemeses are checked by the
// harness, which knows them.
func (s Schedule) Check(timeLimit time.Duration) error {
	if len(s.Events) > MaxFaults {
		return &ScheduleError{Event: -1, Msg: fmt.Sprintf("%d events, more than %d", len(s.Events), MaxFaults)}
	}
	for i, ev := range s.Events {
		switch {
		case ev.Nemesis == "":
			return EventError(i, "nemesis", "missing")
		case ev.Start < 0:
			return EventError(i, "start", "%s is negative", ev.Start)
		case ev.Start >= timeLimit:
			return EventError(i, "start", "%s is not within the time limit, %s", ev.Start, timeLimit)
		case ev.Duration <= 0:
			return EventError(i, "duration", "%s must be positive", ev.Duration)
		case ev.End() > timeLimit || ev.End() < ev.Start:
			return EventError(i, "duration", "the fault ends at %s, after the time limit, %s", ev.End(), timeLimit)
		case i > 0 && ev.Start < s.Events[i-1].Start:
			return EventError(i, "start", "%s is before the start of events[%d], %s: list the events in order of their starts", ev.Start, i-1, s.Events[i-1].Start)
		}
	}
	return nil
}

// Used returns the names of the nemeses that s's events name, in the
// order of their first events.
func (s Schedule) Used() []string {
	var out []string
	seen := map[string]bool{}
	for _, ev := range s.Events {
		if !seen[ev.Nemesis] {
			seen[ev.Nemesis] = true
			out = append(out, ev.Nemesis)
		}
	}
	return out
}
