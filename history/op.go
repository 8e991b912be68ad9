// Package history reads, writes and validates lockstorm histories: JSON Lines
// files with one operation per line, as fixed by docs/history.md.
//
// A history is a plain value. Checkers take a History and return results; they
// never touch files or Docker, so a history saved today can be re-checked by
// any later version of the checkers.
package history

import (
	"encoding/json"
	"fmt"
)

// Type is the kind of an operation record: an invocation or one of the three
// possible completions.
type Type string

// The four operation types. Ok means the operation took effect, Fail means it
// certainly did not, and Info means nobody knows: it may take effect at any
// moment after its invocation.
const (
	Invoke Type = "invoke"
	Ok     Type = "ok"
	Fail   Type = "fail"
	Info   Type = "info"
)

// Valid reports whether t is one of the four known types.
func (t Type) Valid() bool {
	switch t {
	case Invoke, Ok, Fail, Info:
		return true
	}
	return false
}

// NemesisProcess is the process id of the nemesis. Client processes are >= 0.
const NemesisProcess = -1

// The operation names of the history format: the values of an op's f.
// They are part of the public contract (docs/history.md), so every package
// that records or reads an op names it by one of these.
const (
	// FAcquire is a client's acquire of the lock named by the key. An ok
	// may carry the fencing token the service granted.
	FAcquire = "acquire"
	// FRelease is a client's release of the lock named by the key. A
	// release invoke completed by info "client crashed" ends a crashed
	// holder's hold.
	FRelease = "release"
	// FRead is a read of the trusted resource key; its ok carries the
	// value read.
	FRead = "read"
	// FWrite is a write of the trusted resource key, presenting the
	// writer's token; its value is the value written.
	FWrite = "write"
	// FAudit is the read that a workload records once its clients have
	// stopped: its value is the final state of a resource key. It is not
	// taken under a lock and is not part of any client's critical section.
	FAudit = "audit"
	// FCharge is a payment workload's charge of an order; the op's key is
	// the order id.
	FCharge = "charge"
	// FRunJob is a scheduled-jobs workload's run of one tick of a job; the
	// key is the job, the value the tick number.
	FRunJob = "run-job"
	// FLead is a leader-election workload's action as leader. The key is
	// the election, the value the term id, the token the holder's token.
	FLead = "lead"
	// FLivenessProbe is the nemesis op that the harness records after the
	// final heal, before it probes every key. Its value is {"bound": ns}.
	FLivenessProbe = "liveness-probe"
	// FStartPrefix and FStopPrefix begin the f of the nemesis ops that
	// frame a fault: FStartPrefix+name once the fault named name is in
	// effect (start-partition), FStopPrefix+name once it is healed.
	FStartPrefix = "start-"
	FStopPrefix  = "stop-"
)

// Op is one line of a history: an invocation or a completion of an operation
// by one process, or a fault event of the nemesis.
type Op struct {
	// Index is the position in the history, from 0, strictly increasing.
	Index int `json:"index"`
	// Time is in nanoseconds since the run started, from one monotonic clock.
	Time int64 `json:"time"`
	// Process is the client process id, or NemesisProcess.
	Process int `json:"process"`
	// Type is invoke, ok, fail or info.
	Type Type `json:"type"`
	// F names the operation: acquire, release, read, write, or a fault such
	// as start-partition for the nemesis.
	F string `json:"f"`
	// Key is the lock's name or the resource key.
	Key string `json:"key,omitempty"`
	// Value is an optional payload: a read result, a written value, fault
	// details.
	Value json.RawMessage `json:"value,omitempty"`
	// Token is the fencing token: returned by an acquire ok, presented by a
	// write. Nil when there is none; a token of 0 is a real token.
	Token *int64 `json:"token,omitempty"`
	// Lease is the lease the service honours for an acquire, in
	// nanoseconds, recorded under the key ttl: the plan's Lease (as the
	// servers granted it), not the lease the user asked for with --ttl.
	// 0 when the lock has no lease.
	Lease int64 `json:"ttl,omitempty"`
	// Node is the node the client talked to.
	Node string `json:"node,omitempty"`
	// Error says why an operation failed or is indeterminate.
	Error string `json:"error,omitempty"`
}

// IsNemesis reports whether the op was recorded by the nemesis.
func (o Op) IsNemesis() bool { return o.Process == NemesisProcess }

// TokenValue returns the token and whether there is one.
func (o Op) TokenValue() (int64, bool) {
	if o.Token == nil {
		return 0, false
	}
	return *o.Token, true
}

// String renders the op compactly for logs and error messages.
func (o Op) String() string {
	s := fmt.Sprintf("#%d t=%s p%d %s %s", o.Index, FormatTime(o.Time), o.Process, o.Type, o.F)
	if o.Key != "" {
		s += " " + o.Key
	}
	if o.Token != nil {
		s += fmt.Sprintf(" token=%d", *o.Token)
	}
	if len(o.Value) > 0 {
		s += " " + string(o.Value)
	}
	if o.Error != "" {
		s += " (" + o.Error + ")"
	}
	return s
}

// Tok returns a pointer to t, for building ops with a token.
func Tok(t int64) *int64 { return &t }

// FormatTime renders nanoseconds since the start of a run as seconds with
// millisecond precision, e.g. "12.345s".
func FormatTime(ns int64) string {
	neg := ""
	if ns < 0 {
		neg = "-"
		ns = -ns
	}
	ms := ns / 1e6
	return fmt.Sprintf("%s%d.%03ds", neg, ms/1000, ms%1000)
}

// History is an ordered list of ops, as read from or written to a file.
type History []Op

// Keys returns the distinct non-empty keys of client ops, in order of first
// appearance.
func (h History) Keys() []string {
	seen := map[string]bool{}
	var keys []string
	for _, o := range h {
		if o.IsNemesis() || o.Key == "" || seen[o.Key] {
			continue
		}
		seen[o.Key] = true
		keys = append(keys, o.Key)
	}
	return keys
}

// End returns the time of the last op, or 0 for an empty history.
func (h History) End() int64 {
	if len(h) == 0 {
		return 0
	}
	return h[len(h)-1].Time
}
