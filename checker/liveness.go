package checker

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// FLivenessProbe is the f of the nemesis op that the harness records after
// the final heal, before it probes every key. Its value is {"bound": ns}.
const FLivenessProbe = "liveness-probe"

// HasLivenessProbe reports whether h contains a liveness probe marker.
func HasLivenessProbe(h history.History) bool {
	_, ok := probeMarker(h)
	return ok
}

func probeMarker(h history.History) (int, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].IsNemesis() && h[i].F == FLivenessProbe {
			return i, true
		}
	}
	return -1, false
}

// Liveness checks that after the final heal every probed key could be
// acquired again within the bound. The harness marks the moment with a
// nemesis op "liveness-probe" whose value is {"bound": ns}; then a fresh
// process per key invokes acquire. A probe acquire that did not return ok,
// or returned later than the bound, makes the key stuck. Without a marker
// the result is valid and says that nothing was probed.
func Liveness(h history.History) Result {
	begin := time.Now()
	res := Result{Checker: "liveness", Status: Valid}
	mi, ok := probeMarker(h)
	if !ok {
		res.Summary = "No liveness probe in this history; liveness not checked."
		return res
	}
	marker := h[mi]
	var v struct {
		Bound int64 `json:"bound"`
	}
	_ = json.Unmarshal(marker.Value, &v) // a missing bound only means no time limit
	link := pairLinks(h)
	holds := Holds(h)
	probed := 0
	seen := map[string]bool{}
	for i := mi + 1; i < len(h); i++ {
		o := &h[i]
		if o.IsNemesis() || o.Type != history.Invoke || o.F != history.FAcquire || seen[o.Key] {
			continue
		}
		seen[o.Key] = true
		probed++
		typ, j := completion(h, link, i)
		end := h.End()
		if j >= 0 {
			end = h[j].Time
		}
		if typ == history.Ok && (v.Bound <= 0 || end-o.Time <= v.Bound) {
			continue
		}
		res.AnomalyCount++
		an := Anomaly{Kind: KindStuckLock, Key: o.Key, Processes: []int{o.Process}, Start: o.Time, End: end,
			Ops: []int{o.Index}}
		if j >= 0 {
			an.Ops = append(an.Ops, h[j].Index)
		}
		within := ""
		if v.Bound > 0 {
			within = " within " + fmtDur(v.Bound)
		}
		outcome := fmt.Sprintf("the probe by process %d ended %s", o.Process, typ)
		if j >= 0 && h[j].Error != "" {
			outcome += ": " + h[j].Error
		}
		if typ == history.Ok {
			outcome = fmt.Sprintf("the probe by process %d got it only after %s", o.Process, fmtDur(end-o.Time))
		}
		an.Explanation = fmt.Sprintf("After the final heal at %s, key %s could not be acquired%s (%s)%s.",
			history.FormatTime(marker.Time), o.Key, within, outcome, lastHolderPhrase(h, holds, o.Key, marker.Time))
		if len(res.Anomalies) < DefaultMaxAnomalies {
			res.Anomalies = append(res.Anomalies, an)
		}
	}
	res.Details = mustJSON(map[string]any{"probed_keys": probed, "stuck_keys": res.AnomalyCount, "bound_ms": ms(v.Bound)})
	switch {
	case probed == 0:
		res.Status = Unknown
		res.Summary = "The liveness probe was announced but no key was probed."
	case res.AnomalyCount > 0:
		res.Status = Invalid
		res.Summary = fmt.Sprintf("%s of %d could not be acquired again after the final heal.",
			upperFirst(plural(res.AnomalyCount, "key")), probed)
	default:
		res.Summary = fmt.Sprintf("Every probed key (%d) could be acquired again after the final heal", probed)
		if v.Bound > 0 {
			res.Summary += " within " + fmtDur(v.Bound)
		}
		res.Summary += "."
	}
	res.Millis = time.Since(begin).Milliseconds()
	return res
}

// lastHolderPhrase says who held key last before t and how that hold
// ended, without guessing a cause.
func lastHolderPhrase(h history.History, holds []Hold, key string, t int64) string {
	var last *Hold
	for i := range holds {
		if holds[i].Key == key && holds[i].Start < t {
			last = &holds[i]
		}
	}
	if last == nil {
		return "; no process held it before the probe"
	}
	s := fmt.Sprintf("; its last holder, process %d (granted at %s), ", last.Process, history.FormatTime(last.Start))
	switch {
	case last.Open:
		s += "never released it"
	case last.ReleaseType == history.Info:
		why := ""
		for _, o := range h {
			if o.Index > last.ReleaseOp && o.Process == last.Process && o.Type == history.Info {
				why = o.Error
				break
			}
		}
		if strings.Contains(strings.ToLower(why), "crash") {
			s += fmt.Sprintf("crashed at %s while holding it", history.FormatTime(last.End))
		} else {
			s += fmt.Sprintf("sent a release at %s whose outcome is unknown", history.FormatTime(last.End))
		}
	case last.ReleaseType == history.Fail:
		s += fmt.Sprintf("tried to release it at %s and the release failed", history.FormatTime(last.End))
	default:
		s += fmt.Sprintf("released it at %s", history.FormatTime(last.End))
	}
	if last.TTL > 0 {
		s += fmt.Sprintf(", and its lease was %s", fmtDur(last.TTL))
	} else {
		s += ", and the lock has no lease"
	}
	return s
}
