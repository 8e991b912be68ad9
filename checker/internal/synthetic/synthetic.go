// Package synthetic generates synthetic lock histories, by simulating
// clients against an in-memory lock service, for the checkers' benchmarks
// and tests. Nothing here talks to a real system. With no injected bugs the
// simulated service is correct, so its histories are valid.
package synthetic

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// Shape is how clients use the lock.
type Shape int

const (
	// Blocking clients invoke acquire and wait in the service's queue
	// until they are granted the lock, one at a time.
	Blocking Shape = iota
	// TryLock clients get an immediate fail when the lock is held, and
	// try again after a pause: many failed acquires.
	TryLock
)

// Config describes a synthetic history.
type Config struct {
	// Records is the number of records to aim for; the history stops
	// starting operations once it is reached and lets those in flight
	// finish.
	Records int
	// Clients is the number of concurrent clients (default 15).
	Clients int
	Shape   Shape
	Seed    uint64
	// Key is the lock's name (default "lock-a").
	Key string
	// Lease is the lease the simulated service honours, which every
	// acquire records; 0 for none.
	Lease time.Duration
	// Tokens makes every grant carry a fencing token.
	Tokens bool
	// Writes makes every holder write once to a fenced resource.
	Writes bool
	// Timeouts is the chance that a waiting acquire gives up (info).
	Timeouts float64
	// Crashes is the chance that a holder crashes instead of releasing.
	Crashes float64
	// Overlaps is how many times the service wrongly grants a held lock,
	// spread evenly over the history.
	Overlaps int
	// Broken makes the service grant every acquire at once, as a mutex
	// private to each client would: no mutual exclusion at all.
	Broken bool
	// FaultEvery, when not zero, records a start-partition and a
	// stop-partition nemesis op in every period of that length.
	FaultEvery time.Duration
}

type evKind uint8

const (
	evInvokeAcquire evKind = iota
	evArriveAcquire
	evRespondAcquire
	evTimeout
	evInvokeRelease
	evArriveRelease
	evRespondRelease
	evStartFault
	evStopFault
	evFreeCrashed
)

type event struct {
	t      int64
	seq    int64
	kind   evKind
	client int
	proc   int // process id at scheduling time
	ok     bool
	tok    int64
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].t != q[j].t {
		return q[i].t < q[j].t
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type sim struct {
	cfg     Config
	r       *rand.Rand
	h       history.History
	q       eventQueue
	seq     int64
	procs   []int // current process id of each client
	nextPID int
	waiting []bool // client is queued at the service
	queue   []int  // service's queue of clients (blocking shape)
	holders map[int]bool
	counter int64
	written int64 // highest token accepted by the resource
	stopped bool
	bugs    []int // record counts at which to inject an overlap
	// armed is set when a bug is due: bugHolder got the lock and holds
	// it long, and the next acquire to arrive is granted too.
	armed     bool
	bugHolder int
	long      map[int]bool
}

// Generate simulates the configured clients and returns their history.
func Generate(cfg Config) history.History {
	if cfg.Clients <= 0 {
		cfg.Clients = 15
	}
	if cfg.Key == "" {
		cfg.Key = "lock-a"
	}
	s := &sim{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), holders: map[int]bool{}, long: map[int]bool{},
		h: make(history.History, 0, cfg.Records+64)}
	for i := 1; i <= cfg.Overlaps; i++ {
		s.bugs = append(s.bugs, cfg.Records*i/(cfg.Overlaps+1))
	}
	s.procs = make([]int, cfg.Clients)
	s.waiting = make([]bool, cfg.Clients)
	for c := range s.procs {
		s.procs[c] = c
		s.schedule(event{t: s.lat(0, 2e6), kind: evInvokeAcquire, client: c})
	}
	s.nextPID = cfg.Clients
	if cfg.FaultEvery > 0 {
		s.schedule(event{t: int64(cfg.FaultEvery) / 2, kind: evStartFault})
	}
	for s.q.Len() > 0 {
		e := heap.Pop(&s.q).(event)
		s.handle(e)
	}
	return s.h
}

func (s *sim) schedule(e event) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.q, e)
}

// lat returns a random duration in [lo, hi) nanoseconds.
func (s *sim) lat(lo, hi int64) int64 { return lo + s.r.Int64N(hi-lo) }

func (s *sim) record(t int64, proc int, typ history.Type, f, key string) *history.Op {
	s.h = append(s.h, history.Op{Index: len(s.h), Time: t, Process: proc, Type: typ, F: f, Key: key})
	if len(s.h) >= s.cfg.Records {
		s.stopped = true
	}
	return &s.h[len(s.h)-1]
}

func (s *sim) handle(e event) {
	c := e.client
	switch e.kind {
	case evInvokeAcquire:
		if s.stopped {
			return
		}
		p := s.procs[c]
		o := s.record(e.t, p, history.Invoke, history.FAcquire, s.cfg.Key)
		o.Lease = int64(s.cfg.Lease)
		s.schedule(event{t: e.t + s.lat(2e5, 2e6), kind: evArriveAcquire, client: c, proc: p})
		if s.cfg.Shape == Blocking && s.cfg.Timeouts > 0 && s.r.Float64() < s.cfg.Timeouts {
			s.schedule(event{t: e.t + s.lat(3e6, 3e7), kind: evTimeout, client: c, proc: p})
		}
	case evArriveAcquire:
		if s.procs[c] != e.proc {
			return // the client gave up already
		}
		switch {
		case len(s.holders) == 0 || s.cfg.Broken:
			s.grant(e.t, c)
		case s.armed && s.holders[s.bugHolder]:
			// The injected bug: grant a lock that is held.
			s.armed = false
			s.long[e.proc] = true
			s.grant(e.t, c)
		case s.cfg.Shape == Blocking:
			s.waiting[c] = true
			s.queue = append(s.queue, c)
		default:
			s.schedule(event{t: e.t + s.lat(2e5, 2e6), kind: evRespondAcquire, client: c, proc: e.proc})
		}
	case evTimeout:
		if s.procs[c] != e.proc || !s.waiting[c] {
			return
		}
		s.waiting[c] = false
		for i, w := range s.queue {
			if w == c {
				s.queue = append(s.queue[:i], s.queue[i+1:]...)
				break
			}
		}
		s.record(e.t, e.proc, history.Info, history.FAcquire, s.cfg.Key).Error = "timeout"
		s.reborn(c, e.t)
	case evRespondAcquire:
		if !e.ok {
			o := s.record(e.t, e.proc, history.Fail, history.FAcquire, s.cfg.Key)
			o.Error = "lock is held"
			s.schedule(event{t: e.t + s.lat(5e5, 4e6), kind: evInvokeAcquire, client: c})
			return
		}
		o := s.record(e.t, e.proc, history.Ok, history.FAcquire, s.cfg.Key)
		if s.cfg.Tokens {
			o.Token = history.Tok(e.tok)
		}
		t := e.t + s.lat(5e5, 5e6)
		if s.long[e.proc] {
			t = e.t + 20e6
		}
		if s.cfg.Writes && e.tok > 0 {
			// The write is instantaneous, so that records stay in
			// time order without events of its own.
			w := s.record(e.t, e.proc, history.Invoke, history.FWrite, "res-"+s.cfg.Key)
			w.Token = history.Tok(e.tok)
			d := s.record(e.t, e.proc, history.Ok, history.FWrite, "res-"+s.cfg.Key)
			d.Token = history.Tok(e.tok)
			if e.tok < s.written {
				d.Type, d.Error = history.Fail, fmt.Sprintf("stale token %d < %d", e.tok, s.written)
			} else {
				s.written = e.tok
			}
		}
		s.schedule(event{t: t, kind: evInvokeRelease, client: c, proc: e.proc})
	case evInvokeRelease:
		if s.cfg.Crashes > 0 && s.r.Float64() < s.cfg.Crashes {
			s.record(e.t, e.proc, history.Invoke, history.FRelease, s.cfg.Key)
			s.record(e.t, e.proc, history.Info, history.FRelease, s.cfg.Key).Error = "client crashed"
			free := e.t + s.lat(1e6, 5e6)
			if s.cfg.Lease > 0 {
				free = e.t + int64(s.cfg.Lease)
			}
			s.schedule(event{t: free, kind: evFreeCrashed, client: c, proc: e.proc})
			s.reborn(c, e.t)
			return
		}
		s.record(e.t, e.proc, history.Invoke, history.FRelease, s.cfg.Key)
		s.schedule(event{t: e.t + s.lat(2e5, 2e6), kind: evArriveRelease, client: c, proc: e.proc})
	case evArriveRelease, evFreeCrashed:
		delete(s.holders, e.proc)
		if len(s.holders) == 0 && len(s.queue) > 0 {
			next := s.queue[0]
			s.queue = s.queue[1:]
			s.waiting[next] = false
			s.grant(e.t, next)
		}
		if e.kind == evArriveRelease {
			s.schedule(event{t: e.t + s.lat(2e5, 2e6), kind: evRespondRelease, client: c, proc: e.proc})
		}
	case evRespondRelease:
		s.record(e.t, e.proc, history.Ok, history.FRelease, s.cfg.Key)
		s.schedule(event{t: e.t + s.lat(0, 3e6), kind: evInvokeAcquire, client: c})
	case evStartFault:
		if s.stopped {
			return
		}
		s.record(e.t, history.NemesisProcess, history.Info, history.FStartPrefix+"partition", "")
		s.schedule(event{t: e.t + int64(s.cfg.FaultEvery)/4, kind: evStopFault})
	case evStopFault:
		s.record(e.t, history.NemesisProcess, history.Info, history.FStopPrefix+"partition", "")
		s.schedule(event{t: e.t + int64(s.cfg.FaultEvery)*3/4, kind: evStartFault})
	}
}

// grant gives the lock to client c at time t.
func (s *sim) grant(t int64, c int) {
	p := s.procs[c]
	s.holders[p] = true
	if !s.armed && len(s.bugs) > 0 && len(s.h) >= s.bugs[0] {
		s.bugs = s.bugs[1:]
		s.armed, s.bugHolder, s.long[p] = true, p, true
	}
	s.counter++
	s.schedule(event{t: t + s.lat(2e5, 2e6), kind: evRespondAcquire, client: c, proc: p, ok: true, tok: s.counter})
}

// reborn gives client c a new process id and lets it go on.
func (s *sim) reborn(c int, t int64) {
	s.procs[c] = s.nextPID
	s.nextPID++
	s.schedule(event{t: t + s.lat(1e6, 5e6), kind: evInvokeAcquire, client: c})
}

// Merge interleaves histories of different keys by time into the history
// of one multi-key run. The processes of each history are renumbered apart
// from the others', nemesis ops are kept from the first history only, and
// the indexes run from 0 again.
func Merge(hs ...history.History) history.History {
	n := 0
	for _, h := range hs {
		n += len(h)
	}
	offsets := make([]int, len(hs))
	next := 0
	for i, h := range hs {
		offsets[i] = next
		top := -1
		for _, o := range h {
			top = max(top, o.Process)
		}
		next += top + 1
	}
	out := make(history.History, 0, n)
	pos := make([]int, len(hs))
	for {
		best := -1
		for i, h := range hs {
			for pos[i] < len(h) && i > 0 && h[pos[i]].IsNemesis() {
				pos[i]++
			}
			if pos[i] < len(h) && (best < 0 || h[pos[i]].Time < hs[best][pos[best]].Time) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		o := hs[best][pos[best]]
		pos[best]++
		if !o.IsNemesis() {
			o.Process += offsets[best]
		}
		o.Index = len(out)
		out = append(out, o)
	}
}
