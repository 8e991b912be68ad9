package checker

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lockstorm/lockstorm/history"
)

// FencingDetails are the figures of the fencing checker.
type FencingDetails struct {
	Grants        int `json:"grants"`
	TokenedGrants int `json:"tokened_grants"`
	// Regressions counts the grants whose token was not greater than an
	// earlier grant's; Repeats counts those of them that got the very
	// same token as another grant.
	Regressions   int `json:"token_regressions"`
	Repeats       int `json:"token_repeats"`
	Writes        int `json:"writes"`
	StaleRejected int `json:"stale_rejected"`
	StaleAccepted int `json:"stale_accepted"`
}

// IsFencingRejection reports whether a failed write's error says that the
// resource refused it for a stale fencing token. The resource's convention
// is an error such as "stale token 5 < 7".
func IsFencingRejection(errText string) bool {
	e := strings.ToLower(errText)
	return strings.Contains(e, "stale token") || strings.Contains(e, "fenc")
}

// A tokenEvent is a grant or an accepted write with a token.
type tokenEvent struct {
	invoked, done int64 // invocation and completion times
	tok           int64
	proc          int
	op            int // history index of the completion
}

// Fencing checks fencing tokens. Per key, a grant whose acquire was invoked
// after an earlier grant with a token at least as large had returned is a
// token regression, and so are two grants with the same token. A write
// that the resource accepted although it was invoked after a write with a
// larger token had been accepted is a stale write that got through. Writes
// that the resource rejected for a stale token are counted: fencing saved
// the resource there. A history without tokens gives nothing to judge: the
// result is then skipped.
func Fencing(h history.History) Result {
	return runOne(h, func(c *lockCheck) Result { return c.fen.result() }, 2)
}

// fenState is the fencing checker over the parts of a history.
type fenState struct {
	max      int
	d        FencingDetails
	anyToken bool
	count    int
	found    []Anomaly
}

func (s *fenState) init(maxAnomalies int) { s.max = maxAnomalies }

func (s *fenState) add(p *part) {
	h, link := p.h, p.link
	d := &s.d
	grants := map[string][]tokenEvent{}
	writes := map[string][]tokenEvent{}
	for i := range h {
		o := &h[i]
		if o.IsNemesis() || o.Type == history.Invoke || link[i] < 0 {
			continue
		}
		in := &h[link[i]]
		tok, ok := o.TokenValue()
		if !ok {
			tok, ok = in.TokenValue()
		}
		s.anyToken = s.anyToken || ok
		switch o.F {
		case history.FAcquire:
			if o.Type != history.Ok {
				continue
			}
			d.Grants++
			if ok {
				d.TokenedGrants++
				grants[o.Key] = append(grants[o.Key], tokenEvent{in.Time, o.Time, tok, o.Process, o.Index})
			}
		case history.FRelease:
		default:
			// Any other op with a token is an access of the resource: a
			// write, a charge, a job run, a leader's action. Reads are
			// fenced too (a stale read is rejected), but only accepted
			// mutations can be stale writes that got through.
			if !ok {
				continue
			}
			mutation := o.F != history.FRead && o.F != history.FAudit
			if mutation {
				d.Writes++
			}
			switch {
			case o.Type == history.Ok && mutation:
				writes[o.Key] = append(writes[o.Key], tokenEvent{in.Time, o.Time, tok, o.Process, o.Index})
			case o.Type == history.Fail && IsFencingRejection(o.Error):
				d.StaleRejected++
			}
		}
	}
	add := func(a Anomaly) {
		s.count++
		s.found = append(s.found, a)
		if len(s.found) > 4*s.max {
			s.found = keepEarliest(s.found, s.max)
		}
	}
	for _, key := range sortedKeys(grants) {
		evs := grants[key]
		flagged := map[int]bool{}
		if !distinctTokens(evs) {
			byTok := map[int64]int{}
			for i, e := range evs {
				if j, dup := byTok[e.tok]; dup {
					d.Regressions++
					d.Repeats++
					flagged[e.op] = true
					add(regression(key, evs[j], e, true))
					continue
				}
				byTok[e.tok] = i
			}
		}
		for _, pr := range precededByLarger(evs) {
			if !flagged[pr[1].op] {
				d.Regressions++
				add(regression(key, pr[0], pr[1], false))
			}
		}
	}
	for _, key := range sortedKeys(writes) {
		for _, pr := range precededByLarger(writes[key]) {
			d.StaleAccepted++
			add(staleWrite(key, pr[0], pr[1]))
		}
	}
	s.found = keepEarliest(s.found, s.max)
}

func (s *fenState) result() Result {
	d := s.d
	res := Result{Checker: NameFencing, AnomalyCount: s.count, Anomalies: s.found, Details: mustJSON(d)}
	switch {
	case !s.anyToken:
		res.Status, res.Skipped = Unknown, true
		res.Summary = "No fencing tokens in this history; fencing was not checked."
	case s.count > 0:
		res.Status = Invalid
		var parts []string
		if back := d.Regressions - d.Repeats; back > 0 {
			parts = append(parts, fmt.Sprintf("%s went backwards", Plural(back, "grant token")))
		}
		if d.Repeats > 0 {
			parts = append(parts, fmt.Sprintf("%s repeated another grant's token", Plural(d.Repeats, "grant")))
		}
		if d.StaleAccepted > 0 {
			parts = append(parts, fmt.Sprintf("%s got through", Plural(d.StaleAccepted, "stale write")))
		}
		res.Summary = upperFirst(joinWords(parts))
		if d.StaleRejected > 0 {
			res.Summary += fmt.Sprintf("; fencing rejected %s", Plural(d.StaleRejected, "other stale write"))
		}
		res.Summary += "."
	default:
		res.Status = Valid
		if d.TokenedGrants == 0 {
			res.Summary = "No grant carried a fencing token"
		} else {
			res.Summary = fmt.Sprintf("Tokens increased on every grant (%s with tokens)", Plural(d.TokenedGrants, "grant"))
		}
		if d.StaleRejected > 0 {
			res.Summary += fmt.Sprintf("; fencing saved the resource from %s", Plural(d.StaleRejected, "stale write"))
		} else if d.Writes > 0 {
			res.Summary += fmt.Sprintf("; no stale write reached the resource in %s", Plural(d.Writes, "token-bearing write"))
		}
		res.Summary += "."
	}
	return res
}

// precededByLarger returns the pairs (earlier, later) where the later
// event was invoked after the earlier one had completed and the later
// token is smaller. Each later event is reported once, against the largest
// token completed before its invocation.
func precededByLarger(evs []tokenEvent) [][2]tokenEvent {
	byDone := sortedStable(evs, func(e *tokenEvent) int64 { return e.done })
	byInv := sortedStable(evs, func(e *tokenEvent) int64 { return e.invoked })
	var out [][2]tokenEvent
	k := 0
	var best tokenEvent
	have := false
	for _, e := range byInv {
		for k < len(byDone) && byDone[k].done < e.invoked {
			if !have || byDone[k].tok > best.tok {
				best, have = byDone[k], true
			}
			k++
		}
		if have && e.tok < best.tok {
			out = append(out, [2]tokenEvent{best, e})
		}
	}
	return out
}

// distinctTokens reports whether no two events carry the same token. A
// sound lock's grant tokens, in order of completion, usually increase,
// which tells it at once; otherwise a sorted copy of the tokens does.
func distinctTokens(evs []tokenEvent) bool {
	increasing := true
	for i := 1; i < len(evs) && increasing; i++ {
		increasing = evs[i-1].tok < evs[i].tok
	}
	if increasing {
		return true
	}
	toks := make([]int64, len(evs))
	for i := range evs {
		toks[i] = evs[i].tok
	}
	slices.Sort(toks)
	for i := 1; i < len(toks); i++ {
		if toks[i] == toks[i-1] {
			return false
		}
	}
	return true
}

// sortedStable returns evs in the stable order of by: evs itself when it
// is in that order already, as events listed in history order are by
// completion, and otherwise a sorted copy.
func sortedStable(evs []tokenEvent, by func(*tokenEvent) int64) []tokenEvent {
	sorted := true
	for i := 1; i < len(evs) && sorted; i++ {
		sorted = by(&evs[i-1]) <= by(&evs[i])
	}
	if sorted {
		return evs
	}
	out := slices.Clone(evs)
	slices.SortStableFunc(out, func(a, b tokenEvent) int { return cmp.Compare(by(&a), by(&b)) })
	return out
}

func regression(key string, a, b tokenEvent, concurrent bool) Anomaly {
	an := Anomaly{Kind: KindTokenRegression, Key: key, Processes: []int{a.proc, b.proc}, Start: b.invoked, End: b.done,
		Ops: []int{a.op, b.op}}
	if concurrent {
		an.Start = min(a.invoked, b.invoked)
		an.End = max(a.done, b.done)
		an.Explanation = fmt.Sprintf("Processes %d and %d were both granted key %s with token %d (at %s and %s): "+
			"one of the two grants did not get a larger token than the other.",
			a.proc, b.proc, key, a.tok, history.FormatTime(a.done), history.FormatTime(b.done))
		return an
	}
	an.Explanation = fmt.Sprintf("Process %d was granted key %s with token %d at %s, although process %d had already "+
		"been granted it with token %d at %s, before process %d asked: the fencing token went backwards.",
		b.proc, key, b.tok, history.FormatTime(b.done), a.proc, a.tok, history.FormatTime(a.done), b.proc)
	return an
}

func staleWrite(key string, a, b tokenEvent) Anomaly {
	return Anomaly{Kind: KindStaleWrite, Key: key, Processes: []int{b.proc, a.proc}, Start: b.invoked, End: b.done,
		Ops: []int{a.op, b.op}, Explanation: fmt.Sprintf("Process %d wrote %s with token %d at %s and the resource "+
			"accepted it, although a write with token %d had already been accepted at %s: a stale holder changed the data.",
			b.proc, key, b.tok, history.FormatTime(b.invoked), a.tok, history.FormatTime(a.done))}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
