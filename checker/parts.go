package checker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// The lock checkers judge every key on its own: a hold, a lock operation,
// a token and a probe belong to one key. So they can read a history in
// parts, each part holding every client op of its keys: the whole history
// at once (Check), or one key at a time (CheckSplit), which needs only one
// key's ops in memory. What a part cannot tell about the rest of the
// history is in its scope.

// A scope is what the checkers of a part know about the whole history.
type scope struct {
	start, end int64 // times of the first and the last op
	ops        int   // records
	nemesis    int   // records of the nemesis
	probe      probeMarker
	sessions   sessionEnds // the session ends that faults announced
}

// A probeMarker is the nemesis op that announces the final liveness probe.
type probeMarker struct {
	found bool
	index int   // the op's index: the probe's acquires come after it
	time  int64 // the final heal
	// bound is the time a probed key has to be acquired in, 0 for no
	// limit; badBound says why the marker's bound cannot be used.
	bound    int64
	badBound string
}

// scopeOf returns the scope of a whole history.
func scopeOf(h history.History) scope {
	sc := scope{end: h.End(), ops: len(h)}
	if len(h) > 0 {
		sc.start = h[0].Time
	}
	for i := range h {
		if h[i].IsNemesis() {
			sc.nemesis++
		}
	}
	sc.probe = findProbe(h)
	sc.sessions = findSessionEnds(h)
	return sc
}

// splitScope returns the scope of a split history.
func splitScope(s *history.Split) scope {
	nem := s.Nemesis()
	return scope{start: s.Start(), end: s.End(), ops: s.Len(), nemesis: len(nem), probe: findProbe(nem), sessions: findSessionEnds(nem)}
}

// findProbe finds the last liveness-probe op of the nemesis in h.
func findProbe(h history.History) probeMarker {
	for i := len(h) - 1; i >= 0; i-- {
		o := &h[i]
		if !o.IsNemesis() || o.F != history.FLivenessProbe {
			continue
		}
		m := probeMarker{found: true, index: o.Index, time: o.Time}
		m.bound, m.badBound = probeBound(o.Value)
		return m
	}
	return probeMarker{}
}

// probeBound reads the bound of a liveness-probe op's value: {"bound": ns}.
// No value, or no bound in it, means no time limit. A bound that is not a
// whole, non-negative number of nanoseconds cannot be used; the second
// result says why.
func probeBound(v json.RawMessage) (int64, string) {
	if len(bytes.TrimSpace(v)) == 0 || string(bytes.TrimSpace(v)) == "null" {
		return 0, ""
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		return 0, fmt.Sprintf("its value %s is not an object with a bound", clip(string(v), 60))
	}
	raw, ok := m["bound"]
	if !ok {
		return 0, ""
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err == nil {
		if b, err := n.Int64(); err == nil && b >= 0 {
			return b, ""
		}
	}
	return 0, fmt.Sprintf("its bound %s is not a whole, non-negative number of nanoseconds", clip(string(raw), 60))
}

// clip shortens s to at most n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// A part is one part of a history, with the pairing of its ops and its
// holds, which several checkers need.
type part struct {
	h     history.History
	sc    *scope
	link  []int32
	holds []Hold
	bad   []badRelease
}

func newPart(h history.History, sc *scope) *part {
	p := &part{h: h, sc: sc, link: pairLinks(h)}
	p.holds, p.bad = holdsAndReleases(h, p.link, sc.end)
	return p
}

// A lockCheck runs the lock checkers over the parts of one history.
type lockCheck struct {
	sc     scope
	me     meState
	lin    linState
	fen    fenState
	live   liveState
	stats  statsState
	millis [5]time.Duration
	// only, when not 0, holds a bit for each slot whose checker runs.
	only uint8
}

func newLockCheck(sc scope, opts Options) *lockCheck {
	c := &lockCheck{sc: sc}
	c.me.init(opts.MaxAnomalies)
	c.lin.init(linConfig{budget: opts.Budget, maxAnomalies: opts.MaxAnomalies})
	c.fen.init(opts.MaxAnomalies)
	c.live.init(opts.MaxAnomalies)
	c.stats.init()
	return c
}

// add judges a part: the whole history, or the client ops of some keys
// (which must then hold every client op of those keys).
func (c *lockCheck) add(h history.History) {
	begin := time.Now()
	p := newPart(h, &c.sc)
	shared := time.Since(begin)
	c.timed(0, func() { c.me.add(p) })
	c.timed(3, func() { c.live.add(p) })
	// Only the sweep and liveness read the holds: let them go before the
	// search, which needs the most memory.
	p.holds = nil
	c.timed(1, func() { c.lin.add(p) })
	c.timed(2, func() { c.fen.add(p) })
	c.timed(4, func() { c.stats.add(p) })
	c.millis[0] += shared // the holds are the sweep's
}

// timed runs f, unless the checker in slot i is not to run, and adds its
// time to that checker.
func (c *lockCheck) timed(i int, f func()) {
	if c.only != 0 && c.only&(1<<i) == 0 {
		return
	}
	t := time.Now()
	f()
	c.millis[i] += time.Since(t)
}

// results returns the results of the lock checkers, in order.
func (c *lockCheck) results() []Result {
	out := []Result{c.me.result(), c.lin.result(), c.fen.result(), c.live.result(&c.sc), c.stats.result(&c.sc)}
	for i := range out {
		out[i].Millis = c.millis[i].Milliseconds()
	}
	return out
}
