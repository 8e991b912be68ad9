package checker

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/lockstorm/lockstorm/history"
)

// DefaultMaxAnomalies is how many anomalies a checker stores when no cap is
// given. It counts all of them in AnomalyCount.
const DefaultMaxAnomalies = 100

// MutualExclusionDetails are the figures of the mutual-exclusion checker.
type MutualExclusionDetails struct {
	Holds         int `json:"holds"`
	Keys          int `json:"keys"`
	Overlaps      int `json:"overlaps"`
	GrantedEarly  int `json:"granted_early"`
	OutlivedLease int `json:"outlived_lease"`
	// OutlivedSession counts the overlaps after a fault ended the earlier
	// holder's session (see sessions.go).
	OutlivedSession int `json:"outlived_session"`
	// StaleRelease counts the overlaps after a stale holder's release
	// freed the earlier holder's lock (see staleRelease).
	StaleRelease int `json:"stale_release"`
	NoLease      int `json:"overlap_without_lease"`
	BadReleases  int `json:"bad_releases"`
	// OverlappedHolds counts the holds that a later holder overlapped:
	// one stalled holder overlapped by three later ones is one overlapped
	// hold and three overlaps. With BadReleases, it is the number of
	// incidents this checker found.
	OverlappedHolds int `json:"overlapped_holds"`
}

// MutualExclusion checks that the holds of different processes on one key
// never overlap, and that no release by a process without a grant returned
// ok. Each overlap is classified: the service granted the lock early, the
// earlier holder outlived its lease, or (without a lease) the two simply
// overlapped. It sorts and sweeps, so it is fast on any history. A history
// without any hold or release gives nothing to judge: the result is then
// skipped.
func MutualExclusion(h history.History) Result {
	return runOne(h, func(c *lockCheck) Result { return c.me.result() }, 0)
}

// MutualExclusionUpTo is MutualExclusion storing up to max anomalies
// rather than DefaultMaxAnomalies: for a report that lists every overlap
// the run's result only counted.
func MutualExclusionUpTo(h history.History, max int) Result {
	return runOneWith(h, Options{MaxAnomalies: max}, func(c *lockCheck) Result { return c.me.result() }, 0)
}

// runOne runs one lock checker, the one in slot i of lockCheck.millis, on
// the whole of h and returns the result that pick takes.
func runOne(h history.History, pick func(*lockCheck) Result, i int) Result {
	return runOneWith(h, Options{}, pick, i)
}

// runOneWith is runOne with options.
func runOneWith(h history.History, o Options, pick func(*lockCheck) Result, i int) Result {
	c := newLockCheck(scopeOf(h), o.filled())
	c.only = 1 << i
	c.add(h)
	r := pick(c)
	r.Millis = c.millis[i].Milliseconds()
	return r
}

// meState is the mutual-exclusion checker over the parts of a history.
type meState struct {
	max   int
	d     MutualExclusionDetails
	count int
	found []Anomaly
}

func (s *meState) init(maxAnomalies int) { s.max = maxAnomalies }

// An meRef is an anomaly found by the sweep, explained only if it is kept.
type meRef struct {
	start, end int64
	a, b       int // holds; a < 0 means bad release b
}

func (s *meState) add(p *part) {
	holds, bad := p.holds, p.bad
	s.d.Holds += len(holds)
	byKey := map[string][]int{}
	var keys []string
	for i, hd := range holds {
		if _, ok := byKey[hd.Key]; !ok {
			keys = append(keys, hd.Key)
		}
		byKey[hd.Key] = append(byKey[hd.Key], i)
	}
	s.d.Keys += len(keys)
	// Explanations are written only for the anomalies that are kept:
	// a broken lock can overlap millions of times.
	var refs []meRef
	keep := func(r meRef) {
		s.count++
		refs = append(refs, r)
		if len(refs) > 4*s.max+64 {
			sort.SliceStable(refs, func(i, j int) bool { return refs[i].start < refs[j].start })
			refs = refs[:s.max]
		}
	}
	overlapped := map[int]bool{}
	ctxOf := map[string]*overlapCtx{}
	for _, k := range keys {
		idx := byKey[k] // already in order of start
		oc := &overlapCtx{ends: p.sc.sessions, holds: holds, idx: idx}
		ctxOf[k] = oc
		var active []int
		for _, bi := range idx {
			b := &holds[bi]
			kept := active[:0]
			for _, ai := range active {
				if holds[ai].Open || holds[ai].End > b.Start {
					kept = append(kept, ai)
				}
			}
			active = kept
			for _, ai := range active {
				a := &holds[ai]
				if a.Process == b.Process {
					continue
				}
				switch overlapKind(a, b, oc) {
				case KindGrantedEarly:
					s.d.GrantedEarly++
				case KindOutlivedLease:
					s.d.OutlivedLease++
				case KindOutlivedSession:
					s.d.OutlivedSession++
				case KindStaleRelease:
					s.d.StaleRelease++
				default:
					s.d.NoLease++
				}
				s.d.Overlaps++
				if !overlapped[ai] {
					overlapped[ai] = true
					s.d.OverlappedHolds++
				}
				keep(meRef{start: b.Start, end: min(a.End, b.End), a: ai, b: bi})
			}
			active = append(active, bi)
		}
	}
	for i, br := range bad {
		s.d.BadReleases++
		keep(meRef{start: p.h[br.pos].Time, a: -1, b: i})
	}
	for _, r := range refs {
		if r.a < 0 {
			s.found = append(s.found, badReleaseAnomaly(p.h, bad[r.b]))
		} else {
			s.found = append(s.found, classifyOverlap(&holds[r.a], &holds[r.b], ctxOf[holds[r.a].Key]))
		}
	}
	s.found = keepEarliest(s.found, s.max)
}

func (s *meState) result() Result {
	res := Result{Checker: NameMutualExclusion, AnomalyCount: s.count, Anomalies: s.found, Details: mustJSON(s.d)}
	switch {
	case s.count > 0:
		res.Status = Invalid
		res.Summary = meSummary(s.d)
	case s.d.Holds == 0:
		res.Status, res.Skipped = Unknown, true
		res.Summary = "No process held a lock in this history; mutual exclusion was not checked."
	default:
		res.Status = Valid
		res.Summary = fmt.Sprintf("No two processes held the same key at once (%s on %s).",
			Plural(s.d.Holds, "hold"), Plural(s.d.Keys, "key"))
	}
	return res
}

func meSummary(d MutualExclusionDetails) string {
	var parts []string
	if d.GrantedEarly > 0 {
		parts = append(parts, fmt.Sprintf("%d granted early by the service", d.GrantedEarly))
	}
	if d.OutlivedLease > 0 {
		parts = append(parts, fmt.Sprintf("%d where the holder outlived its lease", d.OutlivedLease))
	}
	if d.OutlivedSession > 0 {
		parts = append(parts, fmt.Sprintf("%d where the holder outlived its session", d.OutlivedSession))
	}
	if d.StaleRelease > 0 {
		parts = append(parts, fmt.Sprintf("%d after a stale holder's release freed the lock", d.StaleRelease))
	}
	if d.NoLease > 0 {
		parts = append(parts, fmt.Sprintf("%d where no lease was recorded", d.NoLease))
	}
	s := ""
	switch {
	case d.Overlaps == 0:
	case d.OverlappedHolds == 1 && d.Overlaps == 1:
		s = "1 hold was overlapped by a later holder"
	case d.OverlappedHolds == 1:
		s = fmt.Sprintf("1 hold was overlapped by %d later holders", d.Overlaps)
	case d.OverlappedHolds == d.Overlaps:
		s = fmt.Sprintf("%d holds were each overlapped by a later holder", d.OverlappedHolds)
	default:
		s = fmt.Sprintf("%d holds were overlapped by later holders, %d times in all", d.OverlappedHolds, d.Overlaps)
	}
	if s != "" {
		s += " (" + joinWords(parts) + ")"
	}
	if d.BadReleases > 0 {
		if s != "" {
			s += "; "
		}
		s += fmt.Sprintf("%s by a process that held nothing returned ok", Plural(d.BadReleases, "release"))
	}
	return upperFirst(s) + "."
}

// overlapCtx is what the classification of an overlap needs besides its
// two holds: the session ends that faults announced, and the key's stale
// releases. The stale releases are listed only when an overlap needs them:
// in a long valid history most holds outlive their lease, and listing them
// all would cost more than the rest of the sweep.
type overlapCtx struct {
	ends  sessionEnds
	holds []Hold
	idx   []int // the key's holds, in order of grant
	stale []staleRelease
	found bool // stale is listed
}

// staleReleases returns the key's stale releases, in order of time.
func (oc *overlapCtx) staleReleases() []staleRelease {
	if !oc.found {
		oc.stale, oc.found = staleReleases(oc.holds, oc.idx), true
	}
	return oc.stale
}

// A staleRelease is a release that returned ok although, when it was
// invoked, the key might no longer have been its holder's: its lease could
// have run out, or the service had meanwhile granted the key to another
// process. If another process held the key by then, a release by key name
// (as memcached's plain delete) freed that process's grant, and the next
// grant overlaps it.
type staleRelease struct {
	time    int64 // the release's invocation
	process int
	op      int // its history index
	hold    int // the stale holder's hold
	// lapsed says the holder's lease could have run out; otherwise
	// takenBy was granted the key at takenAt, during the hold.
	lapsed  bool
	takenBy int
	takenAt int64
}

// staleReleases lists the stale releases among holds (of one key), in
// order of time.
func staleReleases(holds []Hold, idx []int) []staleRelease {
	var out []staleRelease
	for n, i := range idx {
		h := &holds[i]
		if h.Open || h.ReleaseType != history.Ok {
			continue
		}
		if end, ok := h.LeaseEnd(); ok && h.End > end {
			out = append(out, staleRelease{time: h.End, process: h.Process, op: h.ReleaseOp, hold: i, lapsed: true})
			continue
		}
		// idx is in order of grant: a later grant during h took the key.
		for _, j := range idx[n+1:] {
			g := &holds[j]
			if g.Start >= h.End {
				break
			}
			if g.Process != h.Process {
				out = append(out, staleRelease{time: h.End, process: h.Process, op: h.ReleaseOp, hold: i,
					takenBy: g.Process, takenAt: g.Start})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].time < out[j].time })
	return out
}

// staleReleaseOf returns a stale release by another process than a's,
// invoked while a held the key and before b was granted: it freed a's
// grant. The releaser may be b itself, freeing the key it then takes.
func staleReleaseOf(a, b *Hold, stale []staleRelease) (staleRelease, bool) {
	i := sort.Search(len(stale), func(i int) bool { return stale[i].time >= a.Start })
	for ; i < len(stale) && stale[i].time <= b.Start; i++ {
		if s := stale[i]; s.process != a.Process {
			return s, true
		}
	}
	return staleRelease{}, false
}

// overlapKind classifies the overlap of hold b, granted later, with the
// earlier hold a.
func overlapKind(a, b *Hold, oc *overlapCtx) string {
	if _, ok := sessionEndOf(a, b, oc.ends); ok {
		return KindOutlivedSession
	}
	if leaseEnd, ok := a.LeaseEnd(); ok && b.Start < leaseEnd {
		if _, ok := staleReleaseOf(a, b, oc.staleReleases()); ok {
			return KindStaleRelease
		}
	}
	if leaseEnd, ok := a.LeaseEnd(); ok {
		if b.Start < leaseEnd {
			return KindGrantedEarly
		}
		return KindOutlivedLease
	}
	return KindOverlap
}

// sessionEndOf returns when a fault may have ended the session of hold
// a, from its acquire's invocation until hold b was granted: the service could free a's lock then. A
// release of a that returned ok shows that the session held the lock to
// the end, whatever the fault.
func sessionEndOf(a, b *Hold, ends sessionEnds) (int64, bool) {
	if a.ReleaseType == history.Ok && !a.Open {
		return 0, false
	}
	return ends.within(a.Process, a.AcquireInvoke, b.Start)
}

// classifyOverlap describes the overlap of hold b, granted later, with the
// earlier hold a.
func classifyOverlap(a, b *Hold, oc *overlapCtx) Anomaly {
	end := min(a.End, b.End)
	an := Anomaly{Key: b.Key, Processes: []int{a.Process, b.Process}, Start: b.Start, End: end,
		Ops: []int{a.AcquireOp, b.AcquireOp}}
	toks := tokenPhrase(a.Token, b.Token)
	until := "until " + history.FormatTime(a.End)
	if a.Open {
		until = "until the end of the history at " + history.FormatTime(a.End)
	}
	if t, ok := sessionEndOf(a, b, oc.ends); ok {
		an.Kind = KindOutlivedSession
		an.Explanation = fmt.Sprintf("Process %d acquired key %s at %s, after a fault at %s cut off the session of process %d, "+
			"whose grant at %s ended with that session, but process %d went on acting as holder %s%s: "+
			"the holder outlived its session.",
			b.Process, b.Key, history.FormatTime(b.Start), history.FormatTime(t), a.Process, history.FormatTime(a.Start),
			a.Process, until, toks)
		return an
	}
	if leaseEnd, ok := a.LeaseEnd(); ok {
		if st, ok := staleReleaseOf(a, b, oc.staleReleases()); ok && b.Start < leaseEnd {
			an.Kind = KindStaleRelease
			an.Ops = append(an.Ops, st.op)
			why := "although its own lease could have run out before that"
			if !st.lapsed {
				why = fmt.Sprintf("although the key had been granted to process %d at %s while process %d held it", st.takenBy,
					history.FormatTime(st.takenAt), st.process)
			}
			an.Explanation = fmt.Sprintf("Process %d acquired key %s at %s while process %d still held it (granted at %s, lease %s): "+
				"in between, at %s, process %d released the key and was told ok, %s; by then the key was process %d's, so the "+
				"release freed process %d's lock%s: the release does not check who holds the lock.",
				b.Process, b.Key, history.FormatTime(b.Start), a.Process, history.FormatTime(a.Start), fmtDur(a.Lease),
				history.FormatTime(st.time), st.process, why, a.Process, a.Process, toks)
			return an
		}
		if b.Start < leaseEnd {
			an.Kind = KindGrantedEarly
			expiry := "so it could not expire before " + history.FormatTime(leaseEnd)
			if leaseEnd == math.MaxInt64 {
				expiry = "which never runs out"
			}
			an.Explanation = fmt.Sprintf("Process %d acquired key %s at %s while process %d still held it "+
				"(granted at %s, lease %s asked at %s, %s)%s: the service granted the lock early.",
				b.Process, b.Key, history.FormatTime(b.Start), a.Process, history.FormatTime(a.Start),
				fmtDur(a.Lease), history.FormatTime(a.AcquireInvoke), expiry, toks)
			return an
		}
		an.Kind = KindOutlivedLease
		also := ""
		if a.ReleaseType == history.Ok {
			also = fmt.Sprintf(" (and its release at %s returned ok although process %d had been granted the key: either the "+
				"service still counted process %d as holder, or the release does not check who holds the lock)",
				history.FormatTime(a.End), b.Process, a.Process)
		}
		an.Explanation = fmt.Sprintf("Process %d acquired key %s at %s, after process %d's lease (%s, asked at %s) "+
			"could have run out at %s, but process %d went on acting as holder %s%s%s: the holder outlived its lease.",
			b.Process, b.Key, history.FormatTime(b.Start), a.Process, fmtDur(a.Lease), history.FormatTime(a.AcquireInvoke),
			history.FormatTime(leaseEnd), a.Process, until, also, toks)
		return an
	}
	an.Kind = KindOverlap
	held := fmt.Sprintf("it asked to release it only at %s", history.FormatTime(a.End))
	switch {
	case a.Open:
		held = "it never released it"
	case a.ReleaseType == history.Fail:
		held = fmt.Sprintf("its release at %s then failed", history.FormatTime(a.End))
	}
	an.Explanation = fmt.Sprintf("Process %d acquired key %s at %s while process %d still held it "+
		"(granted at %s; %s)%s; no lease was recorded for that grant, so it could not have run out: "+
		"the service granted a lock that was still held.",
		b.Process, b.Key, history.FormatTime(b.Start), a.Process, history.FormatTime(a.Start), held, toks)
	return an
}

func badReleaseAnomaly(h history.History, br badRelease) Anomaly {
	in := h[br.pos]
	end := in.Time
	ops := []int{in.Index}
	if br.ok >= 0 {
		end = h[br.ok].Time
		ops = append(ops, h[br.ok].Index)
	}
	return Anomaly{Kind: KindBadRelease, Key: in.Key, Processes: []int{in.Process}, Start: in.Time, End: end,
		Ops: ops, Explanation: fmt.Sprintf("Process %d released key %s at %s and the release returned ok, "+
			"although the process held no grant on it: the lock let a non-holder release it.",
			in.Process, in.Key, history.FormatTime(in.Time))}
}

func tokenPhrase(a, b *int64) string {
	switch {
	case a != nil && b != nil:
		return fmt.Sprintf(" (tokens %d and %d)", *a, *b)
	case b != nil:
		return fmt.Sprintf(" (token %d)", *b)
	}
	return ""
}

// keepEarliest returns at most n anomalies, the earliest ones, in order of
// time.
func keepEarliest(as []Anomaly, n int) []Anomaly {
	sort.SliceStable(as, func(i, j int) bool { return anomalyBefore(&as[i], &as[j]) })
	if n >= 0 && len(as) > n {
		as = as[:n:n]
	}
	return as
}

// anomalyBefore orders anomalies by time, then by key, kind and ops, so
// that the same anomalies come out in the same order however the history
// was read.
func anomalyBefore(a, b *Anomaly) bool {
	return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End), strings.Compare(a.Key, b.Key),
		strings.Compare(a.Kind, b.Kind), slices.Compare(a.Ops, b.Ops)) < 0
}
