// Package checker holds pure functions from a history to a verdict. Checkers
// do no I/O and know nothing about Docker, so any saved history can be
// re-checked at any time.
package checker

import "encoding/json"

// Status is a three-valued verdict. Unknown is a real answer: a search that
// ran out of time, or a history that cannot decide the question.
type Status string

// The three verdicts.
const (
	Valid   Status = "valid"
	Invalid Status = "invalid"
	Unknown Status = "unknown"
)

// ExitCode maps a verdict onto the exit codes of the command line: 0 valid,
// 1 invalid, 2 unknown.
func (s Status) ExitCode() int {
	switch s {
	case Valid:
		return 0
	case Invalid:
		return 1
	}
	return 2
}

// Merge combines verdicts: invalid if any is invalid, else unknown if any is
// unknown, else valid. Merging no verdicts gives unknown: nothing decided
// is no evidence of safety. (Judge applies the rules of a whole verdict.)
func Merge(statuses ...Status) Status {
	if len(statuses) == 0 {
		return Unknown
	}
	out := Valid
	for _, s := range statuses {
		switch s {
		case Invalid:
			return Invalid
		case Unknown:
			out = Unknown
		}
	}
	return out
}

// Anomaly kinds. Reports and tests match on these strings.
const (
	// KindOverlap: the holds of two processes on one key overlapped, and
	// the cause could not be told (no lease known).
	KindOverlap = "overlap"
	// KindGrantedEarly: a new grant came before the earlier holder's lease
	// could have run out. The lock service itself is at fault.
	KindGrantedEarly = "service-granted-early"
	// KindOutlivedLease: the service was right to grant again, because the
	// earlier holder's lease had run out, yet that holder went on acting.
	// Only fencing protects against this.
	KindOutlivedLease = "holder-outlived-lease"
	// KindOutlivedSession: the service was right to grant again, because
	// a fault ended the earlier holder's session (its connection dropped,
	// or the server stopped hearing from it) and a session-bound lock
	// ends with its session, yet that holder went on acting.
	KindOutlivedSession = "holder-outlived-session"
	// KindStaleRelease: a holder whose lease had run out released the
	// key, and the service freed the lock of the process that held it by
	// then: the release does not check who holds the lock.
	KindStaleRelease = "stale-release"
	// KindNotLinearizable: no legal order of the key's operations exists.
	KindNotLinearizable = "not-linearizable"
	// KindTokenRegression: a grant's fencing token was not greater than the
	// token of an earlier grant on the same key.
	KindTokenRegression = "token-regression"
	// KindStaleWrite: a resource write carried a token lower than one
	// already accepted for that key.
	KindStaleWrite = "stale-write"
	// KindStuckLock: after the final heal, a key could not be acquired
	// again within the liveness bound.
	KindStuckLock = "stuck-lock"
	// KindBadRelease: a release by a process that did not hold the lock
	// returned ok.
	KindBadRelease = "bad-release"
)

// An Anomaly is one thing that went wrong, located in time and said in one
// plain sentence.
type Anomaly struct {
	// Kind is one of the Kind constants, or a workload-specific kind.
	Kind string `json:"kind"`
	// Key is the lock or resource key involved.
	Key string `json:"key,omitempty"`
	// Processes are the client processes involved, in order of relevance.
	Processes []int `json:"processes,omitempty"`
	// Start and End bound the anomaly in nanoseconds since the run started.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Ops are the history indexes of the operations involved. For an
	// overlap of two holds, Ops[0] is the earlier hold's grant and Ops[1]
	// the later one's.
	Ops []int `json:"ops,omitempty"`
	// Faults names the nemesis faults active during [Start, End], filled in
	// by Check from the history's nemesis ops.
	Faults []string `json:"faults,omitempty"`
	// Explanation is one plain sentence for the report.
	Explanation string `json:"explanation"`
}

// A Result is what one checker says about a history.
type Result struct {
	// Checker names the checker, e.g. "mutual-exclusion".
	Checker string `json:"checker"`
	// Status is the checker's verdict.
	Status Status `json:"status"`
	// Skipped reports that the history held nothing for this checker to
	// judge (no hold, no token, no liveness probe), so it did not decide
	// anything: Status is then unknown, and the verdict leaves the
	// result out. Summary says what was not checked.
	Skipped bool `json:"skipped,omitempty"`
	// Summary is one sentence about the outcome.
	Summary string `json:"summary"`
	// Anomalies lists what went wrong, in order of time. It may be capped;
	// AnomalyCount is then the full number.
	Anomalies    []Anomaly `json:"anomalies,omitempty"`
	AnomalyCount int       `json:"anomaly_count"`
	// Details carries checker-specific figures (counts, percentiles).
	Details json.RawMessage `json:"details,omitempty"`
	// Millis is how long the checker took.
	Millis int64 `json:"millis"`
}
