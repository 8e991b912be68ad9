package checker

import (
	"fmt"
	"math"
	"slices"

	"github.com/lockstorm/lockstorm/history"
)

// Stats counts what happened. It is always valid and never decides a
// verdict. Its Details is a flat JSON object: "ops" (records),
// "operations" (invocations), "processes" (client processes),
// "nemesis_ops", "duration_ms", and for each f: "<f>_ok", "<f>_fail",
// "<f>_info" and, over the operations that completed with ok or fail,
// "<f>_p50_ms", "<f>_p90_ms", "<f>_p99_ms", "<f>_max_ms".
func Stats(h history.History) Result {
	return runOne(h, func(c *lockCheck) Result { return c.stats.result(&c.sc) }, 4)
}

// statsState is the stats checker over the parts of a history.
type statsState struct {
	byF        map[string]*fstat
	procs      map[int]struct{}
	operations int
}

// fstat counts the operations of one f.
type fstat struct {
	ok, fail, info int
	lat            []int64
}

func (s *statsState) init() {
	s.byF = map[string]*fstat{}
	s.procs = map[int]struct{}{}
}

func (s *statsState) add(p *part) {
	h, link := p.h, p.link
	for i := range h {
		o := &h[i]
		if o.IsNemesis() {
			continue
		}
		s.procs[o.Process] = struct{}{}
		if o.Type != history.Invoke {
			continue
		}
		s.operations++
		st := s.byF[o.F]
		if st == nil {
			st = &fstat{}
			s.byF[o.F] = st
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
}

func (s *statsState) result(sc *scope) Result {
	details := map[string]any{
		"ops": sc.ops, "operations": s.operations, "processes": len(s.procs), "nemesis_ops": sc.nemesis,
	}
	if sc.ops > 0 {
		details["duration_ms"] = ms(sc.end - sc.start)
	}
	var parts []string
	for _, f := range sortedKeys(s.byF) {
		st := s.byF[f]
		details[f+"_ok"], details[f+"_fail"], details[f+"_info"] = st.ok, st.fail, st.info
		if len(st.lat) > 0 {
			slices.Sort(st.lat)
			details[f+"_p50_ms"] = ms(percentile(st.lat, 0.50))
			details[f+"_p90_ms"] = ms(percentile(st.lat, 0.90))
			details[f+"_p99_ms"] = ms(percentile(st.lat, 0.99))
			details[f+"_max_ms"] = ms(st.lat[len(st.lat)-1])
		}
		parts = append(parts, fmt.Sprintf("%d %s (%d ok, %d fail, %d unknown)", st.ok+st.fail+st.info, f, st.ok, st.fail, st.info))
	}
	summary := fmt.Sprintf("%s by %s", Plural(s.operations, "operation"), Plural(len(s.procs), "client process"))
	if len(parts) > 0 {
		summary += ": " + joinWords(parts)
	}
	return Result{Checker: NameStats, Status: Valid, Summary: summary + ".", Details: mustJSON(details)}
}

// percentile returns the nearest-rank percentile of sorted values.
func percentile(sorted []int64, q float64) int64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// ms converts nanoseconds to milliseconds, rounded to microseconds.
func ms(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }
