package checker

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// Hand-made histories use milliseconds for readability.

type opt func(*history.Op)

func tok(t int64) opt       { return func(o *history.Op) { o.Token = history.Tok(t) } }
func lease(msec int64) opt  { return func(o *history.Op) { o.Lease = msec * 1e6 } }
func errText(s string) opt  { return func(o *history.Op) { o.Error = s } }
func value(v string) opt    { return func(o *history.Op) { o.Value = json.RawMessage(v) } }
func at(msec float64) int64 { return int64(msec * 1e6) }

func rec(msec float64, p int, typ history.Type, f, key string, opts ...opt) history.Op {
	o := history.Op{Time: at(msec), Process: p, Type: typ, F: f, Key: key}
	for _, fn := range opts {
		fn(&o)
	}
	return o
}

// Shorthands for the common records.
func inv(msec float64, p int, f, key string, opts ...opt) history.Op {
	return rec(msec, p, history.Invoke, f, key, opts...)
}
func ok(msec float64, p int, f, key string, opts ...opt) history.Op {
	return rec(msec, p, history.Ok, f, key, opts...)
}
func fail(msec float64, p int, f, key string, opts ...opt) history.Op {
	return rec(msec, p, history.Fail, f, key, opts...)
}
func info(msec float64, p int, f, key string, opts ...opt) history.Op {
	return rec(msec, p, history.Info, f, key, opts...)
}
func nem(msec float64, f string, opts ...opt) history.Op {
	return rec(msec, history.NemesisProcess, history.Info, f, "", opts...)
}

// hist numbers the records in the order given, which must be time order.
func hist(t *testing.T, ops ...history.Op) history.History {
	t.Helper()
	h := make(history.History, len(ops))
	for i, o := range ops {
		if i > 0 && o.Time < ops[i-1].Time {
			t.Fatalf("record %d goes back in time: %v", i, o)
		}
		o.Index = i
		h[i] = o
	}
	return h
}

// kinds lists the anomaly kinds of a result.
func kinds(r Result) []string {
	var ks []string
	for _, a := range r.Anomalies {
		ks = append(ks, a.Kind)
	}
	return ks
}

func hasKind(r Result, kind string) bool {
	for _, a := range r.Anomalies {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

// linTest runs the linearizability checker with tiny pieces, so that even
// small histories are cut wherever they can be.
func linTest(h history.History) Result {
	return linearizability(h, linConfig{budget: 20 * time.Second, minPiece: 1})
}

// resultOf picks a checker's result out of a report.
func resultOf(t *testing.T, rep Report, name string) Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Checker == name {
			return r
		}
	}
	t.Fatalf("no %s result in report", name)
	return Result{}
}

func mustUnmarshal(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("details %s: %v", raw, err)
	}
}

// mutualExclusion runs the mutual-exclusion checker with a cap on the
// anomalies it lists.
func mutualExclusion(h history.History, maxAnomalies int) Result {
	c := newLockCheck(scopeOf(h), Options{MaxAnomalies: maxAnomalies}.filled())
	c.add(h)
	return c.me.result()
}
