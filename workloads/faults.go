package workloads

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"
)

// ErrNoHolder is returned when a client fault was armed but no client took
// a lock before the fault's window ended.
var ErrNoHolder = errors.New("no client acquired a lock while the fault was armed")

// An Action is what a client fault makes a lock holder do right after its
// acquire returned ok or, for a stall, while it is at work in its critical
// section.
type Action struct {
	// Stall is how long the holder stalls between its acquire and its
	// write to the resource (a GC pause, a slow disk); zero for none.
	Stall time.Duration
	// Crash means the holder abandons its session without releasing.
	Crash bool
	// Work means that the holder is not frozen during the stall: it goes
	// on working (a long critical section) while something else happens
	// to its connections.
	Work bool
	// taken is told which process took the fault; stallDone is closed by
	// the holder when its stall ends.
	taken     chan<- Victim
	stallDone chan struct{}
}

// A Victim names the holder a client fault hit.
type Victim struct {
	Process int    `json:"process"`
	Key     string `json:"key"`
}

// ClientFaults lets the nemesis stall or crash a lock holder. The nemesis
// arms a fault and waits until a holder takes it; workloads call
// AfterAcquire after every successful acquire, and a holder at work in its
// critical section (worker.work) takes an armed stall or stretch of work
// at once, through AtWorkArmed and DuringWork, as a stop-the-world pause
// or a cut cable strikes whatever the process is doing.
type ClientFaults struct {
	mu    sync.Mutex
	armed *Action
	// atWork is closed while a fault that a holder at work can take is
	// armed, and replaced by an open one when it is taken or disarmed.
	atWork chan struct{}
	// holders maps each process that holds a lock to the node its client
	// talks to and the time of its grant, so that a nemesis can aim at the
	// node of a holder that will hold on for a while.
	holders map[int]holding
}

// NewClientFaults returns a controller with nothing armed.
func NewClientFaults() *ClientFaults {
	return &ClientFaults{holders: map[int]holding{}, atWork: make(chan struct{})}
}

// A holding is one process's current hold: its node and when it began.
type holding struct {
	node  string
	since time.Time
}

// midWork reports whether a holder at work may take a: a stall or a
// stretch of work, not a crash (a crash strikes right after an acquire).
func (a *Action) midWork() bool { return a != nil && a.Stall > 0 && !a.Crash }

// setArmed arms a (nil disarms) and keeps atWork in step; f.mu held.
func (f *ClientFaults) setArmed(a *Action) {
	was := f.armed.midWork()
	f.armed = a
	switch now := a.midWork(); {
	case now && !was:
		close(f.atWork)
	case !now && was:
		f.atWork = make(chan struct{})
	}
}

// AtWorkArmed returns a channel that is closed while a fault is armed that
// a holder at work can take with DuringWork. A nil ClientFaults never
// arms one.
func (f *ClientFaults) AtWorkArmed() <-chan struct{} {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.atWork
}

// DuringWork is called by a holder of key at work in its critical section
// when AtWorkArmed says a fault is armed: it takes the stall or stretch of
// work and disarms it, as AfterAcquire does, or reports false if another
// holder took it first. The caller must call Done on the action when the
// stall or the stretch ends.
func (f *ClientFaults) DuringWork(process int, key string) (Action, bool) {
	if f == nil {
		return Action{}, false
	}
	f.mu.Lock()
	a := f.armed
	if !a.midWork() {
		f.mu.Unlock()
		return Action{}, false
	}
	f.setArmed(nil)
	f.mu.Unlock()
	a.taken <- Victim{Process: process, Key: key}
	return *a, true
}

// Holding records that process holds a lock through node.
func (f *ClientFaults) Holding(process int, node string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holders[process] = holding{node: node, since: time.Now()}
}

// Released records that process no longer holds a lock (it released it,
// crashed, or was retired).
func (f *ClientFaults) Released(process int) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.holders, process)
}

// Holders returns the processes that hold a lock right now, sorted.
func (f *ClientFaults) Holders() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]int, 0, len(f.holders))
	for p := range f.holders {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// HolderNode returns the node through which process holds its lock ("" if
// it holds none).
func (f *ClientFaults) HolderNode(process int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.holders[process].node
}

// HolderNodes returns the distinct nodes through which lock holders talk
// to the lock service right now, sorted.
func (f *ClientFaults) HolderNodes() []string { return f.HolderNodesSince(time.Time{}) }

// HolderNodesSince is HolderNodes for the holders granted after t only.
func (f *ClientFaults) HolderNodesSince(t time.Time) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, h := range f.holders {
		if h.node != "" && !seen[h.node] && h.since.After(t) {
			seen[h.node] = true
			out = append(out, h.node)
		}
	}
	sort.Strings(out)
	return out
}

// Stall arms a stall of d for a holder, the first at work in its critical
// section or else the next to acquire, and waits until a holder starts
// it. It returns the victim and a channel that is closed when the stall
// ends. ErrNoHolder comes back if ctx ends first.
func (f *ClientFaults) Stall(ctx context.Context, d time.Duration) (Victim, <-chan struct{}, error) {
	taken := make(chan Victim, 1)
	a := &Action{Stall: d, taken: taken, stallDone: make(chan struct{})}
	v, err := f.arm(ctx, a, taken)
	return v, a.stallDone, err
}

// Work arms a stretch of work of d for a holder, during which it is not
// frozen (its client and library go on), and waits until a holder starts
// it, as Stall does: a holder at work keeps working for at least d from
// then, or else the next to acquire works for d right after its acquire.
func (f *ClientFaults) Work(ctx context.Context, d time.Duration) (Victim, <-chan struct{}, error) {
	taken := make(chan Victim, 1)
	a := &Action{Stall: d, Work: true, taken: taken, stallDone: make(chan struct{})}
	v, err := f.arm(ctx, a, taken)
	return v, a.stallDone, err
}

// Crash arms a crash of the next holder and waits until it happened.
func (f *ClientFaults) Crash(ctx context.Context) (Victim, error) {
	taken := make(chan Victim, 1)
	return f.arm(ctx, &Action{Crash: true, taken: taken}, taken)
}

func (f *ClientFaults) arm(ctx context.Context, a *Action, taken <-chan Victim) (Victim, error) {
	f.mu.Lock()
	f.setArmed(a)
	f.mu.Unlock()
	select {
	case v := <-taken:
		return v, nil
	case <-ctx.Done():
		f.mu.Lock()
		if f.armed == a {
			f.setArmed(nil)
			f.mu.Unlock()
			return Victim{}, ErrNoHolder
		}
		f.mu.Unlock()
		// Taken at the last moment: report it, since it will happen.
		return <-taken, nil
	}
}

// AfterAcquire is called by a workload right after process's acquire of key
// returned ok. It returns the armed fault, if any, and disarms it. The
// caller must call Done on the returned action when a stall ends.
func (f *ClientFaults) AfterAcquire(process int, key string) Action {
	if f == nil {
		return Action{}
	}
	f.mu.Lock()
	a := f.armed
	f.setArmed(nil)
	f.mu.Unlock()
	if a == nil {
		return Action{}
	}
	a.taken <- Victim{Process: process, Key: key}
	return *a
}

// Done marks the end of a stall.
func (a Action) Done() {
	if a.stallDone != nil {
		close(a.stallDone)
	}
}
