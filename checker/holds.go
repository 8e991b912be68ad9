package checker

import (
	"math"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/internal/hugepage"
)

// A Hold is the interval during which one process held one key, as the
// design defines it: from the ok of its acquire until its next release
// invocation on that key, or until the end of the history when there is
// none.
type Hold struct {
	// Key is the lock's name.
	Key string
	// Process is the holder.
	Process int
	// Start is the time of the acquire's ok; End is the time of the next
	// release invocation by the same process on the key, or the end of the
	// history.
	Start, End int64
	// Open reports that the holder never invoked a release.
	Open bool
	// Token is the fencing token of the grant, nil when there is none.
	Token *int64
	// Lease is the lease the service honours for the grant, as its acquire
	// recorded it (history.Op.Lease), 0 when none.
	Lease int64
	// AcquireInvoke is the time the acquire was invoked, from which the
	// lease runs.
	AcquireInvoke int64
	// AcquireOp is the history index of the acquire's ok; ReleaseOp is the
	// history index of the release invocation, -1 when there is none.
	AcquireOp, ReleaseOp int
	// ReleaseType is how the release completed: ok, fail, info (also when
	// the history ended first), or "" when there was no release.
	ReleaseType history.Type
}

// LeaseEnd returns the earliest time at which the hold's lease could have
// run out, and false when the hold has no lease. A lease that would run
// out past the largest time there is (a lease near the int64 maximum, meant
// as "never expires") never runs out: LeaseEnd saturates at math.MaxInt64
// instead of wrapping around to a time before the grant.
func (h Hold) LeaseEnd() (int64, bool) {
	if h.Lease <= 0 {
		return 0, false
	}
	return addSat(h.AcquireInvoke, h.Lease), true
}

// addSat returns a+b for b >= 0, or math.MaxInt64 when that overflows.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Holds returns every hold in the history, in order of their start.
func Holds(h history.History) []Hold {
	holds, _ := holdsAndReleases(h, pairLinks(h), h.End())
	return holds
}

// A badRelease is a release that returned ok from a process that held no
// grant on the key.
type badRelease struct {
	pos int // position of the release invocation
	ok  int // position of its ok
}

type procKey struct {
	p int
	k string
}

// holdsAndReleases computes the holds, and the releases by processes that
// had nothing to release. link is pairLinks(h); a hold without release
// lasts until end, the end of the whole history.
func holdsAndReleases(h history.History, link []int32, end int64) ([]Hold, []badRelease) {
	grants := 0
	for i := range h {
		if h[i].F == history.FAcquire && h[i].Type == history.Ok {
			grants++
		}
	}
	holds := make([]Hold, 0, grants)
	hugepage.Advise(holds)
	open := map[procKey]int{}     // index into holds of the open hold
	mayHold := map[procKey]bool{} // the service may still count p as holder
	var bad []badRelease
	for i := range h {
		o := &h[i]
		if o.IsNemesis() || o.Key == "" {
			continue
		}
		pk := procKey{o.Process, o.Key}
		switch {
		case o.F == history.FAcquire && o.Type == history.Ok:
			inv := link[i]
			if inv < 0 {
				continue
			}
			mayHold[pk] = true
			if _, ok := open[pk]; ok {
				continue // a second grant while holding extends the same hold
			}
			in := &h[inv]
			lease := in.Lease
			if lease == 0 {
				lease = o.Lease
			}
			tok := o.Token
			if tok == nil {
				tok = in.Token
			}
			open[pk] = len(holds)
			holds = append(holds, Hold{Key: o.Key, Process: o.Process, Start: o.Time, Token: tok,
				Lease: lease, AcquireInvoke: in.Time, AcquireOp: o.Index, ReleaseOp: -1})
		case o.F == history.FRelease && o.Type == history.Invoke:
			typ, _ := completion(h, link, i)
			if hi, ok := open[pk]; ok {
				hd := &holds[hi]
				hd.End, hd.ReleaseOp, hd.ReleaseType = o.Time, o.Index, typ
				delete(open, pk)
			}
			if typ == history.Ok {
				if !mayHold[pk] {
					bad = append(bad, badRelease{pos: i, ok: int(link[i])})
				}
				mayHold[pk] = false
			}
		}
	}
	for _, hi := range open {
		holds[hi].End, holds[hi].Open = end, true
	}
	return holds, bad
}
