package reports

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
)

// fmtNs renders nanoseconds since the start of a run, as the history does.
func fmtNs(ns int64) string { return history.FormatTime(ns) }

// kindWords says each anomaly kind in words, with what it means for the
// reader: the title and one sentence.
var kindWords = map[string][2]string{
	checker.KindOverlap: {"Two holders at once",
		"Two processes held the lock on the same key at the same time, and the earlier grant had no lease that could have run out in between: the lock service itself is at fault."},
	checker.KindGrantedEarly: {"Service granted the lock early",
		"The lock service handed out the lock before the earlier holder's lease could have run out: the service itself is at fault (a bug, a clock jump, a lost failover write)."},
	checker.KindOutlivedLease: {"Holder outlived its lease",
		"The service was right to grant the lock again, but the earlier holder went on acting after its lease had run out: only fencing tokens protect against this."},
	checker.KindOutlivedSession: {"Holder outlived its session",
		"A fault ended the holder's session (its connection dropped, or the server stopped hearing from it), and the service freed the lock with it, as a session-bound lock does; but the holder went on acting: only fencing, or a holder that stops when its session ends, protects against this."},
	checker.KindStaleRelease: {"Lock freed by a stale holder",
		"A holder whose lease had run out released the key and was told ok, so the lock of the process that held it by then was freed and a third process got in: the release must check that the lock is still the caller's (a compare-and-delete)."},
	checker.KindNotLinearizable: {"Not linearizable",
		"No legal order of this key's operations exists: the lock did not behave like a single mutex."},
	checker.KindTokenRegression: {"Fencing token went backwards",
		"A grant carried a fencing token that was not greater than an earlier grant's, so fencing cannot tell the holders apart."},
	checker.KindStaleWrite: {"Stale write got through",
		"The resource accepted a write carrying an older token than one it had already seen: a stale holder changed the data."},
	checker.KindStuckLock: {"Lock stuck",
		"After every fault was healed the key could not be acquired again within the bound: the lock is stuck for good."},
	checker.KindBadRelease: {"Release by a non-holder succeeded",
		"A process that did not hold the lock released it, and the service said ok."},
	checker.KindLostUpdate: {"Deduction lost",
		"Two servers read the same stock and both wrote it back one lower: an order was deducted but the stock shows it only once."},
	checker.KindNegativeStock: {"Stock went negative",
		"More was deducted than there was in stock."},
	checker.KindDoubleCharge: {"Customer charged twice",
		"The same order was charged more than once: the lock alone did not keep the payment idempotent."},
	checker.KindDuplicateRun: {"Scheduled job ran twice",
		"Two servers ran the same tick's job: the lock did not make the job run exactly once."},
	checker.KindMissedTick: {"Scheduled job skipped",
		"No server ran this tick's job while the system was up (reported, but not counted as a safety violation)."},
	checker.KindOverlappingTerms: {"Two leaders at once",
		"Two servers acted as leader in overlapping terms: split brain."},
}

// kindTitle returns the words for kind, or the kind itself made readable.
func kindTitle(kind string) string {
	if w, ok := kindWords[kind]; ok {
		return w[0]
	}
	s := strings.ReplaceAll(kind, "-", " ")
	if s == "" {
		return "Anomaly"
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

// kindMeaning returns the sentence that explains kind, or "".
func kindMeaning(kind string) string { return kindWords[kind][1] }

// statusWord is the banner word of a verdict.
func statusWord(s checker.Status) string {
	switch s {
	case checker.Valid:
		return "Valid"
	case checker.Invalid:
		return "Invalid"
	}
	return "Unknown"
}

// statusClass is the CSS class of a verdict; anything unexpected is unknown.
func statusClass(s checker.Status) string {
	switch s {
	case checker.Valid:
		return "valid"
	case checker.Invalid:
		return "invalid"
	}
	return "unknown"
}

// A kv is one row of a key/value table.
type kv struct {
	K, V string
}

// detailRows flattens a checker's Details object into rows, in key order.
// Nested values are shown as compact JSON, cut at a sane length.
func detailRows(raw json.RawMessage) []kv {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return []kv{{"details", clip(string(raw), 400)}}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := make([]kv, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, kv{strings.ReplaceAll(k, "_", " "), jsonText(m[k])})
	}
	return rows
}

// jsonText renders a JSON value for a table cell: strings unquoted,
// everything else compact.
func jsonText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return clip(s, 400)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) == nil {
		return clip(buf.String(), 400)
	}
	return clip(string(v), 400)
}

// detailInt reads an integer field of a Details object; ok is false when
// it is missing or not a number.
func detailInt(raw json.RawMessage, field string) (int64, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return 0, false
	}
	v, ok := m[field]
	if !ok {
		return 0, false
	}
	var n float64
	if json.Unmarshal(v, &n) != nil {
		return 0, false
	}
	return int64(n), true
}
