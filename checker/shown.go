package checker

import "github.com/lockstorm/lockstorm/history"

// ShownViolation says whether prefix, the ops recorded so far of a
// history still being recorded, already shows a violation that the
// final mutual-exclusion checker will report whatever comes after it,
// and from when (ns since the start): the time of the earliest such
// anomaly. It runs MutualExclusion itself on the prefix, so it calls
// nothing a violation that the checker would not.
//
// A violation of mutual exclusion cannot be undone by later ops: a hold
// starts at its acquire's ok and ends at the holder's next release
// invocation, both already recorded, and a hold still open at the end of
// the prefix lasts at least until the next op (the recorder's clock never
// goes back); a release that returned ok from a process without a grant
// stays one. Ops still outstanding (a pending acquire, a release whose
// outcome is not known yet) create no hold and end none beyond what
// their invocation ends. The one edge is an overlap that begins at the
// very time of the prefix's last op: an open hold may then end at that
// same time in the full history, so such an anomaly is not counted until
// a later op is recorded.
func ShownViolation(prefix history.History) (int64, bool) {
	if len(prefix) == 0 {
		return 0, false
	}
	r := MutualExclusion(prefix)
	if r.Status != Invalid {
		return 0, false
	}
	first := firstViolation([]Result{r})
	if first < 0 || first >= prefix[len(prefix)-1].Time {
		return 0, false
	}
	return first, true
}
