package reports

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/lockstorm/lockstorm/history"
)

// statsKinds is the order in which the Statistics section lists the kinds
// of operation, and the words for each; a kind not listed follows, in key
// order, under its own name.
var statsKinds = []struct{ f, words string }{
	{history.FRelease, "releases"},
	{history.FWrite, "resource writes"},
	{history.FRead, "resource reads"},
	{history.FCharge, "charges"},
	{history.FRunJob, "job runs"},
	{history.FLead, "leader actions"},
	{history.FAudit, "final audits"},
}

// statsFigures condenses the stats checker's Details (checker.Stats: a
// flat object of counts, and of latencies in milliseconds) into the few
// figures a reader wants, in words: how many operations, over how long,
// how many a second, how many locks were granted and how long an acquire
// took, and each other kind's outcomes. It returns nil when Details holds
// none of the stats checker's figures; every figure also stays in the
// raw rows (detailRows).
func statsFigures(raw json.RawMessage) []kv {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return nil
	}
	num := func(key string) (float64, bool) {
		var v float64
		if s, ok := m[key]; ok && json.Unmarshal(s, &v) == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v, true
		}
		return 0, false
	}
	var rows []kv
	ops, hasOps := num("operations")
	if hasOps {
		s := count(ops)
		if p, ok := num("processes"); ok {
			s += ", by " + count(p) + " client " + plural(p, "process", "processes")
		}
		rows = append(rows, kv{"operations", s})
	}
	span, hasSpan := num("duration_ms")
	if hasSpan && span > 0 {
		rows = append(rows, kv{"time span", millis(span) + ", from the first op to the last"})
		if hasOps {
			rows = append(rows, kv{"throughput", sig3(ops/(span/1e3)) + " operations a second"})
		}
	}

	// The kinds of operation are the keys that end in _ok.
	var kinds []string
	for k := range m {
		if f, ok := strings.CutSuffix(k, "_ok"); ok && f != "" {
			kinds = append(kinds, f)
		}
	}
	slices.Sort(kinds)
	outcomes := func(f string) (ok, fail, unknown float64) {
		ok, _ = num(f + "_ok")
		fail, _ = num(f + "_fail")
		unknown, _ = num(f + "_info")
		return ok, fail, unknown
	}
	if slices.Contains(kinds, history.FAcquire) {
		ok, fail, unknown := outcomes(history.FAcquire)
		s := count(ok) + " of " + count(ok+fail+unknown) + " " + plural(ok+fail+unknown, "acquire", "acquires")
		if rest := joinNonZero(tally{fail, "not granted"}, tally{unknown, "unknown"}); rest != "" {
			s += "; " + rest
		}
		rows = append(rows, kv{"locks granted", s})
		if p50, ok := num(history.FAcquire + "_p50_ms"); ok {
			s := "median " + millis(p50)
			if p99, ok := num(history.FAcquire + "_p99_ms"); ok {
				s += ", p99 " + millis(p99)
			}
			rows = append(rows, kv{"acquire wait", s})
		}
	}
	var order []string
	for _, k := range statsKinds {
		if slices.Contains(kinds, k.f) {
			order = append(order, k.f)
		}
	}
	for _, f := range kinds {
		if f != history.FAcquire && !slices.Contains(order, f) {
			order = append(order, f)
		}
	}
	for _, f := range order {
		words := f
		if i := slices.IndexFunc(statsKinds, func(k struct{ f, words string }) bool { return k.f == f }); i >= 0 {
			words = statsKinds[i].words
		}
		ok, fail, unknown := outcomes(f)
		s := count(ok+fail+unknown) + ": "
		if fail == 0 && unknown == 0 {
			s += "all ok"
		} else {
			s += joinNonZero(tally{ok, "ok"}, tally{fail, "failed"}, tally{unknown, "unknown"})
		}
		rows = append(rows, kv{words, s})
	}
	return rows
}

// A tally is a count and the word for what it counts.
type tally struct {
	n    float64
	word string
}

// joinNonZero writes the tallies that are not zero: {3 ok}, {0 failed},
// {1 unknown} is "3 ok, 1 unknown".
func joinNonZero(ts ...tally) string {
	var parts []string
	for _, t := range ts {
		if t.n != 0 {
			parts = append(parts, count(t.n)+" "+t.word)
		}
	}
	return strings.Join(parts, ", ")
}

// count writes a count with thousands commas: 12,345.
func count(n float64) string { return fmtRate(math.Round(n)) }

// plural picks the word for n.
func plural(n float64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// millis writes a duration given in milliseconds, rounded to three
// significant digits in the unit people read it in: "4 µs", "3.25 ms",
// "120 ms", "2 s", "47 s", "1,203 s".
func millis(ms float64) string {
	switch a := math.Abs(ms); {
	case a >= 1e3:
		return sig3(ms/1e3) + " s"
	case a >= 1 || a == 0:
		return sig3(ms) + " ms"
	}
	return sig3(ms*1e3) + " µs"
}

// sig3 writes v to three significant digits, or whole with thousands
// commas from 100 up: 0.0123, 2.05, 47.5, 1,203.
func sig3(v float64) string {
	a := math.Abs(v)
	if a >= 100 {
		return count(v)
	}
	digits := 2
	if a >= 10 {
		digits = 1
	} else if a > 0 && a < 1 {
		digits = 2 - int(math.Floor(math.Log10(a)))
	}
	p := math.Pow(10, float64(digits))
	return strconv.FormatFloat(math.Round(v*p)/p, 'f', -1, 64)
}
