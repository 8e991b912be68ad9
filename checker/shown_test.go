package checker

import (
	"path/filepath"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

// The online detector fires on a prefix only where the final checker
// finds the violation too, and never on histories the final checker
// calls valid: with acquires and releases of unknown outcome, and
// leases that ran out.
func TestShownViolationOnHandMadeHistories(t *testing.T) {
	cases := []struct {
		name string
		ops  []history.Op
		want int64 // the time shown, or -1 for none
	}{
		{"one after the other", []history.Op{
			inv(0, 0, "acquire", "a"), ok(1, 0, "acquire", "a"), inv(5, 0, "release", "a"), ok(6, 0, "release", "a"),
			inv(7, 1, "acquire", "a"), ok(8, 1, "acquire", "a"), inv(9, 2, "read", "a"),
		}, -1},
		{"two holders at once", []history.Op{
			inv(0, 0, "acquire", "a"), ok(1, 0, "acquire", "a"),
			inv(2, 1, "acquire", "a"), ok(3, 1, "acquire", "a"), inv(9, 2, "read", "a"),
		}, at(3)},
		{"the overlap begins at the last op: not yet", []history.Op{
			inv(0, 0, "acquire", "a"), ok(1, 0, "acquire", "a"),
			inv(2, 1, "acquire", "a"), ok(3, 1, "acquire", "a"),
		}, -1},
		{"an acquire of unknown outcome makes no holder", []history.Op{
			inv(0, 0, "acquire", "a"), ok(1, 0, "acquire", "a"),
			inv(2, 1, "acquire", "a"), info(3, 1, "acquire", "a", errText("timeout")),
			inv(4, 2, "acquire", "a"), inv(9, 3, "read", "a"),
		}, -1},
		{"an indeterminate release ends the hold at its invocation", []history.Op{
			inv(0, 0, "acquire", "a", lease(1000)), ok(1, 0, "acquire", "a"),
			inv(5, 0, "release", "a"), info(6, 0, "release", "a", errText("timeout")),
			inv(7, 1, "acquire", "a"), ok(8, 1, "acquire", "a"), inv(9, 2, "read", "a"),
		}, -1},
		{"a release still outstanding ends the hold at its invocation", []history.Op{
			inv(0, 0, "acquire", "a"), ok(1, 0, "acquire", "a"), inv(5, 0, "release", "a"),
			inv(7, 1, "acquire", "a"), ok(8, 1, "acquire", "a"), inv(9, 2, "read", "a"),
		}, -1},
		{"a holder that outlived its lease", []history.Op{
			inv(0, 0, "acquire", "a", lease(10)), ok(1, 0, "acquire", "a"),
			inv(20, 1, "acquire", "a", lease(10)), ok(21, 1, "acquire", "a"), inv(30, 2, "read", "a"),
		}, at(21)},
		{"an acquire still outstanding makes no holder", []history.Op{
			inv(0, 0, "acquire", "a"), ok(1, 0, "acquire", "a"), inv(2, 1, "acquire", "a"), inv(9, 2, "read", "a"),
		}, -1},
		{"a release ok from a process without a grant", []history.Op{
			inv(0, 1, "release", "a"), ok(1, 1, "release", "a"), inv(9, 2, "read", "a"),
		}, at(0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := hist(t, c.ops...)
			got, shown := ShownViolation(h)
			if !shown {
				got = -1
			}
			if got != c.want {
				t.Fatalf("shown at %d, want %d", got, c.want)
			}
			if shown && MutualExclusion(h).Status != Invalid {
				t.Fatal("shown on a history the checker calls valid")
			}
		})
	}
}

// On every prefix of every recorded history in testdata/, the detector
// fires only when mutual exclusion finds the whole history invalid, no
// earlier than its first violation there; and on an invalid history by
// mutual exclusion it fires by the end.
func TestShownViolationOnEveryPrefixOfTheTestdataHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		h, err := history.ReadFile(f)
		if err != nil {
			continue // a torn history: judged elsewhere
		}
		full := MutualExclusion(h)
		fullFirst := firstViolation([]Result{full})
		step := max(1, len(h)/300)
		for n := 1; n <= len(h); n += step {
			at, shown := ShownViolation(h[:n])
			if !shown {
				continue
			}
			if full.Status != Invalid {
				t.Fatalf("%s: shown at %d after %d ops, and mutual exclusion finds the whole history %s", f, at, n, full.Status)
			}
			if at < fullFirst {
				t.Fatalf("%s: shown at %d, before the whole history's first violation at %d", f, at, fullFirst)
			}
		}
		if _, shown := ShownViolation(append(h[:len(h):len(h)], history.Op{Index: len(h), Time: h.End() + 1, Process: history.NemesisProcess, Type: history.Info, F: "end"})); full.Status == Invalid && !shown {
			t.Errorf("%s: mutual exclusion finds it invalid, and the detector never fired", f)
		}
	}
}
