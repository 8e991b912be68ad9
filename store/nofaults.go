package store

import (
	"fmt"
	"strings"
)

// NoteNotApplicable is the kind of the note that a nemesis asked for does
// not apply to the run's target (harness.Resolve writes it).
const NoteNotApplicable = "not-applicable"

// NoFaults says why no fault struck in the run res, whose plan asked for
// nemeses, or returns "" when a fault struck or no nemesis was asked for.
// struck is the number of faults that took effect, as the history records
// them (checker.FaultsStruck), or -1 when the history is not known; the
// plan's schedule and the run's not-applicable notes say the rest. The
// harness records it as RunResult.NoFaults, and the run page, the
// terminal and the campaign read it there: a run whose nemeses never
// struck is no evidence of safety under them.
func NoFaults(res *RunResult, struck int) string {
	p := &res.Plan
	if len(p.Nemeses) == 0 || struck > 0 {
		return ""
	}
	if n := len(p.Schedule.Events); n > 0 {
		if struck < 0 {
			return ""
		}
		return fmt.Sprintf("none of the %d scheduled faults took effect (each failed to inject, or the run ended before it)", n)
	}
	if p.ScheduleFile != "" {
		return fmt.Sprintf("no fault was scheduled: the schedule given, %s, has none", p.ScheduleFile)
	}
	var why []string
	for _, n := range res.Notes {
		if n.Kind == NoteNotApplicable {
			why = append(why, lowerFirst(strings.TrimSuffix(n.Text, ".")))
		}
	}
	if len(why) > 0 {
		return "no fault was scheduled: " + strings.Join(why, "; ")
	}
	return fmt.Sprintf("no fault was scheduled: the time limit %s ends before the first fault at nemesis-interval %s",
		p.TimeLimit, p.NemesisInterval)
}

// lowerFirst makes the first letter of a sentence lower case, so that it
// reads as a phrase: "Nemesis pause: ..." as "nemesis pause: ...".
func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
