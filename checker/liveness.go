package checker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lockstorm/lockstorm/history"
)

// HasLivenessProbe reports whether h contains a liveness probe marker.
func HasLivenessProbe(h history.History) bool { return findProbe(h).found }

// Liveness checks that after the final heal every probed key could be
// acquired again within the bound. The harness marks the moment with a
// nemesis op "liveness-probe" whose value is {"bound": ns}; then a fresh
// process per key invokes acquire, and tools may try more than once. A key
// passes when one of its probe acquires returned ok within the bound,
// counted from its first probe acquire; otherwise it is stuck. Without a
// marker there is nothing to judge: the result is skipped and says that
// liveness was not checked. A bound that is not a whole number of
// nanoseconds leaves the verdict unknown.
func Liveness(h history.History) Result {
	return runOne(h, func(c *lockCheck) Result { return c.live.result(&c.sc) }, 3)
}

// liveState is the liveness checker over the parts of a history.
type liveState struct {
	max      int
	probed   int
	attempts int
	count    int
	found    []Anomaly
}

func (s *liveState) init(maxAnomalies int) { s.max = maxAnomalies }

// A probeKey gathers the probe's acquires of one key.
type probeKey struct {
	key      string
	attempts []int // positions of the acquire invokes
}

func (s *liveState) add(p *part) {
	m := p.sc.probe
	if !m.found || m.badBound != "" {
		return
	}
	h := p.h
	var keys []*probeKey
	byKey := map[string]*probeKey{}
	for i := range h {
		o := &h[i]
		if o.Index <= m.index || o.IsNemesis() || o.Type != history.Invoke || o.F != history.FAcquire {
			continue
		}
		pk := byKey[o.Key]
		if pk == nil {
			pk = &probeKey{key: o.Key}
			byKey[o.Key] = pk
			keys = append(keys, pk)
		}
		pk.attempts = append(pk.attempts, i)
		s.attempts++
	}
	for _, pk := range keys {
		s.probed++
		if an, stuck := s.judgeKey(p, pk); stuck {
			s.count++
			if len(s.found) < s.max {
				s.found = append(s.found, an)
			}
		}
	}
}

// judgeKey decides whether the probe acquired pk's key within the bound,
// and explains it when it did not.
func (s *liveState) judgeKey(p *part, pk *probeKey) (Anomaly, bool) {
	h, m := p.h, p.sc.probe
	first := &h[pk.attempts[0]]
	acquired := int64(-1) // the earliest ok of a probe acquire
	end := first.Time
	an := Anomaly{Kind: KindStuckLock, Key: pk.key, Start: first.Time}
	for _, i := range pk.attempts {
		o := &h[i]
		typ, j := completion(h, p.link, i)
		done := p.sc.end
		an.Ops = append(an.Ops, o.Index)
		if j >= 0 {
			done = h[j].Time
			an.Ops = append(an.Ops, h[j].Index)
		}
		end = max(end, done)
		if !slices.Contains(an.Processes, o.Process) {
			an.Processes = append(an.Processes, o.Process)
		}
		if typ == history.Ok && (acquired < 0 || done < acquired) {
			acquired = done
		}
	}
	if acquired >= 0 && (m.bound == 0 || acquired-first.Time <= m.bound) {
		return Anomaly{}, false
	}
	an.End = end
	if acquired >= 0 {
		an.End = acquired
	}
	// A key that the probe never got: the run shows since when it was
	// out of reach, and the anomaly starts there.
	since := ""
	if acquired < 0 {
		if u := unavailableSince(h, p, pk.key, m.index, m.time); u.at >= 0 {
			an.Start = u.at
			since = fmt.Sprintf("; no acquire of it succeeded after its last holder was gone at %s: the first to fail ended at %s, and %s failed in all before the probe",
				history.FormatTime(u.from), history.FormatTime(u.at), Plural(u.fails, "acquire"))
		}
	}
	within := ""
	if m.bound > 0 {
		within = " within " + fmtDur(m.bound)
	}
	last := &h[pk.attempts[len(pk.attempts)-1]]
	typ, j := completion(h, p.link, pk.attempts[len(pk.attempts)-1])
	var outcome string
	switch {
	case acquired >= 0 && len(pk.attempts) == 1:
		outcome = fmt.Sprintf("the probe by process %d got it only after %s", first.Process, fmtDur(acquired-first.Time))
	case acquired >= 0:
		outcome = fmt.Sprintf("%d probe attempts; the first that got it did so only %s after the first attempt",
			len(pk.attempts), fmtDur(acquired-first.Time))
	case len(pk.attempts) == 1:
		outcome = fmt.Sprintf("the probe by process %d ended %s", last.Process, typ)
	default:
		outcome = fmt.Sprintf("%d probe attempts, none of which got it; the last, by process %d, ended %s",
			len(pk.attempts), last.Process, typ)
	}
	if acquired < 0 && j >= 0 && h[j].Error != "" {
		outcome += ": " + h[j].Error
	}
	an.Explanation = fmt.Sprintf("After the final heal at %s, key %s could not be acquired%s (%s)%s%s.",
		history.FormatTime(m.time), pk.key, within, outcome, lastHolderPhrase(h, p.holds, pk.key, m.time), since)
	return an, true
}

// unavailability says since when the run saw a key out of reach.
type unavailability struct {
	from  int64 // when its last holder was gone (and a lease it had could have run out)
	at    int64 // when the first acquire invoked after from failed; -1 if none
	fails int   // the acquires invoked after from that failed
}

// unavailableSince finds when key went out of reach for good, before the
// probe at index probe (time t) found it stuck: after its last hold ended
// (a crash, a release, with the lease the service honoured run out), the
// first acquire of key that the service refused. No grant of key came
// after that hold, or it would not be the last; so from that refusal on
// the key was out of reach, which the probe then confirmed. With no last
// holder the search starts at the beginning of the run; a last holder that
// never let go (its hold open to the end) gives none.
func unavailableSince(h history.History, p *part, key string, probe int, t int64) unavailability {
	u := unavailability{at: -1}
	var last *Hold
	for i := range p.holds {
		if p.holds[i].Key == key && p.holds[i].Start < t {
			last = &p.holds[i]
		}
	}
	if last != nil {
		if last.Open || last.End >= t {
			return u
		}
		u.from = last.End
		if last.Lease > 0 {
			u.from = max(u.from, last.AcquireInvoke+last.Lease)
		}
	}
	for i := range h {
		o := &h[i]
		if o.Index >= probe {
			break
		}
		if o.IsNemesis() || o.Type != history.Invoke || o.F != history.FAcquire || o.Key != key || o.Time < u.from {
			continue
		}
		typ, j := completion(h, p.link, i)
		if typ != history.Fail || j < 0 {
			continue
		}
		u.fails++
		if u.at < 0 || h[j].Time < u.at {
			u.at = h[j].Time
		}
	}
	return u
}

func (s *liveState) result(sc *scope) Result {
	m := sc.probe
	res := Result{Checker: NameLiveness, AnomalyCount: s.count, Anomalies: keepEarliest(s.found, s.max)}
	if !m.found {
		res.Status, res.Skipped = Unknown, true
		res.Summary = "No liveness probe in this history; liveness was not checked."
		return res
	}
	res.Details = mustJSON(map[string]any{"probed_keys": s.probed, "probe_attempts": s.attempts,
		"stuck_keys": s.count, "bound_ms": ms(m.bound)})
	switch {
	case m.badBound != "":
		res.Status = Unknown
		res.Summary = fmt.Sprintf("The liveness probe at %s cannot be judged: %s.", history.FormatTime(m.time), m.badBound)
	case s.probed == 0:
		res.Status = Unknown
		res.Summary = "The liveness probe was announced but no key was probed."
	case s.count > 0:
		res.Status = Invalid
		res.Summary = fmt.Sprintf("%s of %d could not be acquired again after the final heal.",
			upperFirst(Plural(s.count, "key")), s.probed)
	default:
		res.Status = Valid
		res.Summary = fmt.Sprintf("Every probed key (%d) could be acquired again after the final heal", s.probed)
		if m.bound > 0 {
			res.Summary += " within " + fmtDur(m.bound)
		}
		res.Summary += "."
	}
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
	if last.Lease > 0 {
		s += fmt.Sprintf(", and its lease was %s", fmtDur(last.Lease))
	} else {
		s += ", and its grant recorded no lease"
	}
	return s
}
