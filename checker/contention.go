package checker

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// The ways of the contention workload to deduct an item's stock.
const (
	// WayLock reads and writes the stock under the target's lock.
	WayLock = "lock"
	// WayOptimistic reads the stock with its version and writes it back
	// less one only if the version is unchanged, retrying on a conflict.
	WayOptimistic = "optimistic"
	// WayAtomic has the store decrement the stock in one step that
	// cannot go below zero.
	WayAtomic = "atomic"
)

// Ways lists the ways in the order the reports show them.
var Ways = []string{WayLock, WayOptimistic, WayAtomic}

// ContentionKey is the stock key of one phase of the contention workload:
// way with clients contending for it, e.g. "item-lock-c16".
func ContentionKey(way string, clients int) string {
	return fmt.Sprintf("item-%s-c%d", way, clients)
}

// ContentionLockKey is the lock key of the lock way's phase with clients.
func ContentionLockKey(clients int) string { return fmt.Sprintf("lock-c%d", clients) }

// ParseContentionKey reads a key of ContentionKey.
func ParseContentionKey(key string) (way string, clients int, ok bool) {
	rest, ok := strings.CutPrefix(key, "item-")
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndex(rest, "-c")
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(rest[i+2:])
	if err != nil || n < 1 || !slices.Contains(Ways, rest[:i]) {
		return "", 0, false
	}
	return rest[:i], n, true
}

// A ContentionPoint is what one way made with a number of clients.
type ContentionPoint struct {
	Way     string `json:"way"`
	Clients int    `json:"clients"`
	Key     string `json:"key"`
	// Deductions counts the stock writes that returned ok.
	Deductions int `json:"deductions"`
	// Seconds is the phase's length: from its first invoke to its last
	// deduction (so that the liveness probe and the audit after the run
	// do not count).
	Seconds float64 `json:"seconds"`
	// PerSecond is Deductions / Seconds.
	PerSecond float64 `json:"per_second"`
	// The latency of a deduction runs from the first op of its attempt
	// (the acquire, or the read of the first try) to the write's ok, and
	// counts the waits and retries in between.
	P50Ms float64 `json:"p50_ms"`
	P90Ms float64 `json:"p90_ms"`
	P99Ms float64 `json:"p99_ms"`
	// Retries counts the attempts that came to nothing and were tried
	// again: acquires that found the lock busy, writes that lost a
	// conflict, reads that failed.
	Retries int `json:"retries"`
	// Indeterminate counts ops without a known outcome.
	Indeterminate int `json:"indeterminate"`
}

// ContentionDetails are the figures of the contention checker.
type ContentionDetails struct {
	// Points are sorted by way (Ways' order), then clients.
	Points []ContentionPoint `json:"points"`
	// At is the number of clients the ratios compare at: 16, or the
	// nearest measured number below it (the largest if none is).
	At int `json:"at,omitempty"`
	// Ratios gives each lock-free way's deductions a second over the
	// lock's, at At clients.
	Ratios map[string]float64 `json:"ratios,omitempty"`
	// LockKnee is the knee of the lock's curve: the fewest clients with
	// which the lock made KneeShare of its best throughput. More clients
	// than that add little; 0 when the lock was measured with only one
	// number of clients.
	LockKnee int `json:"lock_knee,omitempty"`
	// LockGain is the lock's best throughput over its throughput at the
	// knee: what all the clients past the knee added.
	LockGain float64 `json:"lock_gain,omitempty"`
}

// RatioClients is the number of clients at which the contention checker
// compares the ways, as issue 18 asks.
const RatioClients = 16

// KneeShare is the share of its best throughput at which the lock's curve
// has its knee.
const KneeShare = 0.8

// NameContention measures the contention workload; like stats, it never
// decides a verdict.
const NameContention = "contention"

// Measures reports whether the checker called name only measures and
// never decides a verdict.
func Measures(name string) bool { return name == NameStats || name == NameContention }

// Contention measures the phases of a contention history: for each way
// and number of clients (read from the stock keys, ContentionKey), the
// deductions a second and their latency. It is always valid.
func Contention(h history.History) Result {
	begin := time.Now()
	type acc struct {
		p          ContentionPoint
		first      int64
		last       int64
		lat        []int64
		chainStart map[int]int64 // process -> start of its current attempt
		items      bool          // an op on the stock key: not only the probe's acquires
	}
	phases := map[string]*acc{}
	get := func(key string) *acc {
		if a, ok := phases[key]; ok {
			return a
		}
		way, n, ok := ParseContentionKey(key)
		if !ok {
			return nil
		}
		a := &acc{p: ContentionPoint{Way: way, Clients: n, Key: key}, first: math.MaxInt64, chainStart: map[int]int64{}}
		phases[key] = a
		return a
	}
	for _, op := range Pair(h) {
		in, done := op.Invoke, op.Done
		key := in.Key
		if in.F == history.FAudit {
			continue
		}
		if in.F == history.FAcquire || in.F == history.FRelease {
			n, ok := lockKeyClients(in.Key)
			if !ok {
				continue
			}
			key = ContentionKey(WayLock, n)
		}
		a := get(key)
		if a == nil {
			continue
		}
		a.first = min(a.first, in.Time)
		a.items = a.items || key == in.Key
		if _, ok := a.chainStart[in.Process]; !ok {
			a.chainStart[in.Process] = in.Time
		}
		switch done.Type {
		case history.Info:
			a.p.Indeterminate++
			delete(a.chainStart, in.Process)
			continue
		case history.Fail:
			if in.F != history.FRelease {
				a.p.Retries++
			}
		}
		switch {
		case in.F == history.FWrite && done.Type == history.Ok:
			a.p.Deductions++
			a.last = max(a.last, done.Time)
			a.lat = append(a.lat, done.Time-a.chainStart[in.Process])
			if a.p.Way != WayLock {
				delete(a.chainStart, in.Process)
			}
		case in.F == history.FRelease:
			delete(a.chainStart, in.Process)
		}
	}
	var d ContentionDetails
	for _, a := range phases {
		if !a.items {
			continue // the liveness probe's acquires of a lock no phase used
		}
		if a.first < a.last {
			a.p.Seconds = float64(a.last-a.first) / 1e9
			a.p.PerSecond = float64(a.p.Deductions) / a.p.Seconds
		}
		slices.Sort(a.lat)
		a.p.P50Ms, a.p.P90Ms, a.p.P99Ms = pctMs(a.lat, 50), pctMs(a.lat, 90), pctMs(a.lat, 99)
		d.Points = append(d.Points, a.p)
	}
	sort.Slice(d.Points, func(i, j int) bool {
		a, b := d.Points[i], d.Points[j]
		if a.Way != b.Way {
			return slices.Index(Ways, a.Way) < slices.Index(Ways, b.Way)
		}
		return a.Clients < b.Clients
	})
	d.At, d.Ratios = contentionRatios(d.Points)
	d.LockKnee, d.LockGain = lockKnee(d.Points)
	res := Result{Checker: NameContention, Status: Valid, Summary: contentionSummary(d), Details: mustJSON(d)}
	res.Millis = time.Since(begin).Milliseconds()
	return res
}

// lockKeyClients reads the clients of a ContentionLockKey.
func lockKeyClients(key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, "lock-c")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n > 0
}

// pctMs is the p-th percentile of sorted nanoseconds, in milliseconds.
func pctMs(sorted []int64, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	i = min(max(i-1, 0), len(sorted)-1)
	return math.Round(float64(sorted[i])/1e4) / 100
}

// point finds the point of way with clients.
func point(ps []ContentionPoint, way string, clients int) (ContentionPoint, bool) {
	for _, p := range ps {
		if p.Way == way && p.Clients == clients {
			return p, true
		}
	}
	return ContentionPoint{}, false
}

// contentionRatios compares each lock-free way with the lock at
// RatioClients clients, or the nearest number measured for the lock below
// it.
func contentionRatios(ps []ContentionPoint) (int, map[string]float64) {
	at := 0
	for _, p := range ps {
		switch {
		case p.Way != WayLock:
		case at == 0,
			p.Clients <= RatioClients && (p.Clients > at || at > RatioClients),
			at > RatioClients && p.Clients < at:
			at = p.Clients
		}
	}
	lock, ok := point(ps, WayLock, at)
	if !ok || lock.PerSecond <= 0 {
		return at, nil
	}
	ratios := map[string]float64{}
	for _, way := range Ways[1:] {
		if p, ok := point(ps, way, at); ok {
			ratios[way] = math.Round(p.PerSecond/lock.PerSecond*100) / 100
		}
	}
	if len(ratios) == 0 {
		return at, nil
	}
	return at, ratios
}

// lockKnee finds the knee of the lock's curve: the fewest clients that
// made KneeShare of the lock's best throughput, and the best over what
// the knee made.
func lockKnee(ps []ContentionPoint) (int, float64) {
	var lock []ContentionPoint
	best := 0.0
	for _, p := range ps {
		if p.Way == WayLock {
			lock = append(lock, p)
			best = max(best, p.PerSecond)
		}
	}
	if len(lock) < 2 || best <= 0 {
		return 0, 0
	}
	for _, p := range lock {
		if p.PerSecond >= KneeShare*best {
			return p.Clients, math.Round(best/p.PerSecond*100) / 100
		}
	}
	return 0, 0
}

// contentionSummary says, in a sentence or two, what the ways made.
func contentionSummary(d ContentionDetails) string {
	if len(d.Points) == 0 {
		return "No contention phase in the history."
	}
	var byWay []string
	for _, way := range Ways {
		var pts []string
		for _, p := range d.Points {
			if p.Way == way {
				pts = append(pts, fmt.Sprintf("%s/s at %d", groupThousands(p.PerSecond), p.Clients))
			}
		}
		if len(pts) > 0 {
			byWay = append(byWay, fmt.Sprintf("%s %s", wayNoun(way), strings.Join(pts, ", ")))
		}
	}
	s := "Deductions a second by clients: " + strings.Join(byWay, "; ") + "."
	if len(d.Ratios) > 0 {
		var rs []string
		for _, way := range Ways[1:] {
			if r, ok := d.Ratios[way]; ok {
				rs = append(rs, fmt.Sprintf("%s %.1f×", wayNoun(way), r))
			}
		}
		s += fmt.Sprintf(" At %d clients, against the lock: %s.", d.At, strings.Join(rs, ", "))
	}
	if d.LockKnee > 0 {
		most := 0
		for _, p := range d.Points {
			if p.Way == WayLock {
				most = max(most, p.Clients)
			}
		}
		if most > d.LockKnee {
			s += fmt.Sprintf(" The lock's curve has its knee at %s: up to %d× as many clients made at most %.0f%% more.",
				Plural(d.LockKnee, "client"), most/d.LockKnee, 100*(d.LockGain-1))
		}
	}
	return s
}

// wayNoun names a way in a sentence.
func wayNoun(way string) string {
	switch way {
	case WayLock:
		return "the lock"
	case WayOptimistic:
		return "the optimistic write"
	case WayAtomic:
		return "the atomic decrement"
	}
	return way
}

// groupThousands writes a rate as a whole number with thousands commas.
func groupThousands(f float64) string {
	s := strconv.FormatInt(int64(math.Round(f)), 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
