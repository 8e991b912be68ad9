package checker

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// Stats counts what happened. It is always valid. Its Details is a flat
// JSON object: "ops" (records), "operations" (invocations), "processes"
// (client processes), "nemesis_ops", "duration_ms", and for each f:
// "<f>_ok", "<f>_fail", "<f>_info" and, over the operations that completed
// with ok or fail, "<f>_p50_ms", "<f>_p90_ms", "<f>_p99_ms", "<f>_max_ms".
func Stats(h history.History) Result {
	begin := time.Now()
	link := pairLinks(h)
	type fstat struct {
		ok, fail, info int
		lat            []int64
	}
	byF := map[string]*fstat{}
	procs := map[int]bool{}
	nemesis, operations := 0, 0
	for i := range h {
		o := &h[i]
		if o.IsNemesis() {
			nemesis++
			continue
		}
		procs[o.Process] = true
		if o.Type != history.Invoke {
			continue
		}
		operations++
		st := byF[o.F]
		if st == nil {
			st = &fstat{}
			byF[o.F] = st
		}
		typ, j := completion(h, link, i)
		switch typ {
		case history.Ok:
			st.ok++
		case history.Fail:
			st.fail++
		default:
			st.info++
		}
		if j >= 0 && typ != history.Info {
			st.lat = append(st.lat, h[j].Time-o.Time)
		}
	}
	details := map[string]any{
		"ops": len(h), "operations": operations, "processes": len(procs), "nemesis_ops": nemesis,
	}
	if len(h) > 0 {
		details["duration_ms"] = ms(h[len(h)-1].Time - h[0].Time)
	}
	var parts []string
	for _, f := range sortedKeys(byF) {
		st := byF[f]
		details[f+"_ok"], details[f+"_fail"], details[f+"_info"] = st.ok, st.fail, st.info
		if len(st.lat) > 0 {
			sort.Slice(st.lat, func(a, b int) bool { return st.lat[a] < st.lat[b] })
			details[f+"_p50_ms"] = ms(percentile(st.lat, 0.50))
			details[f+"_p90_ms"] = ms(percentile(st.lat, 0.90))
			details[f+"_p99_ms"] = ms(percentile(st.lat, 0.99))
			details[f+"_max_ms"] = ms(st.lat[len(st.lat)-1])
		}
		parts = append(parts, fmt.Sprintf("%d %s (%d ok, %d fail, %d unknown)", st.ok+st.fail+st.info, f, st.ok, st.fail, st.info))
	}
	summary := fmt.Sprintf("%s by %s", plural(operations, "operation"), plural(len(procs), "client process"))
	if len(parts) > 0 {
		summary += ": " + joinWords(parts)
	}
	return Result{Checker: "stats", Status: Valid, Summary: summary + ".", Details: mustJSON(details),
		Millis: time.Since(begin).Milliseconds()}
}

// percentile returns the nearest-rank percentile of sorted values.
func percentile(sorted []int64, q float64) int64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// ms converts nanoseconds to milliseconds, rounded to microseconds.
func ms(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }
