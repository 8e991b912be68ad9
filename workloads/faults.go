package workloads

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrNoHolder is returned when a client fault was armed but no client took
// a lock before the fault's window ended.
var ErrNoHolder = errors.New("no client acquired a lock while the fault was armed")

// An Action is what a client fault makes a lock holder do right after its
// acquire returned ok.
type Action struct {
	// Stall is how long the holder stalls before touching the resource
	// (a GC pause, a slow disk); zero for none.
	Stall time.Duration
	// Crash means the holder abandons its session without releasing.
	Crash bool
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

// ClientFaults lets the nemesis stall or crash the next client that
// acquires a lock. The nemesis arms a fault and waits until a holder takes
// it; workloads call AfterAcquire after every successful acquire.
type ClientFaults struct {
	mu    sync.Mutex
	armed *Action
}

// NewClientFaults returns a controller with nothing armed.
func NewClientFaults() *ClientFaults { return &ClientFaults{} }

// Stall arms a stall of d for the next holder and waits until a holder
// starts it. It returns the victim and a channel that is closed when the
// stall ends. ErrNoHolder comes back if ctx ends first.
func (f *ClientFaults) Stall(ctx context.Context, d time.Duration) (Victim, <-chan struct{}, error) {
	taken := make(chan Victim, 1)
	a := &Action{Stall: d, taken: taken, stallDone: make(chan struct{})}
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
	f.armed = a
	f.mu.Unlock()
	select {
	case v := <-taken:
		return v, nil
	case <-ctx.Done():
		f.mu.Lock()
		if f.armed == a {
			f.armed = nil
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
	f.armed = nil
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
