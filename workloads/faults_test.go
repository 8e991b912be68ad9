package workloads

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"
)

func TestStallIsTakenByTheNextHolderOnly(t *testing.T) {
	f := NewClientFaults()
	if a := f.AfterAcquire(1, "k"); a.Stall != 0 || a.Crash {
		t.Fatalf("nothing armed, got %+v", a)
	}
	type out struct {
		v    Victim
		done <-chan struct{}
		err  error
	}
	ch := make(chan out, 1)
	go func() {
		v, done, err := f.Stall(context.Background(), time.Second)
		ch <- out{v, done, err}
	}()
	var a Action
	for i := 0; i < 1000; i++ { // wait until armed
		if a = f.AfterAcquire(4, "k2"); a.Stall != 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if a.Stall != time.Second {
		t.Fatalf("holder got %+v, want a 1s stall", a)
	}
	o := <-ch
	if o.err != nil || o.v.Process != 4 || o.v.Key != "k2" {
		t.Fatalf("Stall returned %+v", o)
	}
	if b := f.AfterAcquire(5, "k"); b.Stall != 0 {
		t.Errorf("a second holder was stalled too")
	}
	select {
	case <-o.done:
		t.Fatal("stall reported done before the holder woke")
	default:
	}
	a.Done()
	<-o.done
}

func TestArmedCrashWithNoHolderGivesErrNoHolder(t *testing.T) {
	f := NewClientFaults()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := f.Crash(ctx); !errors.Is(err, ErrNoHolder) {
		t.Fatalf("Crash = %v, want ErrNoHolder", err)
	}
	if a := f.AfterAcquire(1, "k"); a.Crash {
		t.Error("crash stayed armed after its window")
	}
}

// intoFirstHold waits until d after the first grant, counted from the grant
// and not from the start: on a loaded machine the first grant can come
// late. It is false if no client held the lock before the run ended.
func intoFirstHold(ctx context.Context, t *testing.T, f *ClientFaults, d time.Duration) bool {
	t.Helper()
	for len(f.Holders()) == 0 {
		if ctx.Err() != nil {
			t.Error("no client held the lock")
			return false
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(d)
	return true
}

// A stall armed while a holder is at work in its critical section strikes
// that holder at once, as a stop-the-world pause does, rather than waiting
// for the next grant; its work takes up again when it wakes, so its write
// comes after the stall.
func TestStallStrikesAHolderAtWork(t *testing.T) {
	t.Parallel()
	const hold, stall = 600 * time.Millisecond, 400 * time.Millisecond
	cfg := plan.Plan{Hold: hold, Concurrency: 1}
	var took time.Duration
	var victim Victim
	h, _ := runWithFaults(t, Mutex{}, &freeForAll{}, oneNode, cfg, 2*time.Second, func(ctx context.Context, f *ClientFaults) {
		if !intoFirstHold(ctx, t, f, 200*time.Millisecond) {
			return
		}
		armed := time.Now()
		v, done, err := f.Stall(ctx, stall)
		if err != nil {
			t.Errorf("Stall: %v", err)
			return
		}
		took, victim = time.Since(armed), v
		<-done
	})
	if took > 150*time.Millisecond {
		t.Errorf("the stall was taken %s after it was armed: it waited for the next grant instead of striking the holder at work", took)
	}
	if victim.Process != 0 || victim.Key == "" {
		t.Errorf("victim %+v", victim)
	}
	spans := holdSpans(h)
	if len(spans) == 0 || spans[0] < hold+stall-50*time.Millisecond {
		t.Fatalf("hold spans %v: the first hold should last its %s and the %s stall", spans, hold, stall)
	}
	// The write of the stalled hold comes after the stall ended.
	var grant, write int64 = -1, -1
	for _, o := range h {
		if o.Type == history.Ok && o.F == history.FAcquire && grant < 0 {
			grant = o.Time
		}
		if o.Type == history.Invoke && o.F == history.FWrite && write < 0 {
			write = o.Time
		}
	}
	if grant < 0 || write < 0 || time.Duration(write-grant) < hold+stall-50*time.Millisecond {
		t.Errorf("the first write came %s after its grant, want after the %s hold and the %s stall", time.Duration(write-grant), hold, stall)
	}
}

// A crash is not taken at work: it waits for the next acquire, and the
// channel that wakes holders at work stays open for it; a stall is.
func TestACrashDoesNotWakeHoldersAtWork(t *testing.T) {
	f := NewClientFaults()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = f.Crash(ctx) }()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-f.AtWorkArmed():
		t.Fatal("an armed crash woke the holders at work")
	default:
	}
	if _, ok := f.DuringWork(1, "k"); ok {
		t.Fatal("a holder at work took a crash")
	}
	cancel()
	time.Sleep(20 * time.Millisecond)
	go func() { _, _, _ = f.Stall(context.Background(), time.Second) }()
	select {
	case <-f.AtWorkArmed():
	case <-time.After(time.Second):
		t.Fatal("an armed stall did not wake the holders at work")
	}
	a, ok := f.DuringWork(3, "k")
	if !ok || a.Stall != time.Second {
		t.Fatalf("DuringWork = %+v, %v", a, ok)
	}
	a.Done()
	select {
	case <-f.AtWorkArmed():
		t.Fatal("the channel stayed closed after the stall was taken")
	default:
	}
	if b := f.AfterAcquire(4, "k"); b.Stall != 0 {
		t.Error("the stall was taken twice")
	}
}

// A stretch of work armed while a holder is at work (a client cut off
// while it works on) is taken by that holder at once and keeps its work
// going for at least the stretch; the nemesis hears that it ended only
// when the work ended.
func TestStretchOfWorkStrikesAHolderAtWork(t *testing.T) {
	t.Parallel()
	const hold, stretch = 500 * time.Millisecond, 700 * time.Millisecond
	cfg := plan.Plan{Hold: hold, Concurrency: 1}
	var took, lasted time.Duration
	h, _ := runWithFaults(t, Mutex{}, &freeForAll{}, oneNode, cfg, 2*time.Second, func(ctx context.Context, f *ClientFaults) {
		if !intoFirstHold(ctx, t, f, 200*time.Millisecond) {
			return
		}
		armed := time.Now()
		_, done, err := f.Work(ctx, stretch)
		if err != nil {
			t.Errorf("Work: %v", err)
			return
		}
		took = time.Since(armed)
		<-done
		lasted = time.Since(armed)
	})
	if took > 150*time.Millisecond {
		t.Errorf("the stretch was taken %s after it was armed, not by the holder at work", took)
	}
	if lasted < stretch-20*time.Millisecond {
		t.Errorf("the nemesis heard the stretch end after %s, want at least %s", lasted, stretch)
	}
	// The first hold ran from its grant (about 200 ms before the fault)
	// to the end of the stretch: longer than its own hold.
	if spans := holdSpans(h); len(spans) == 0 || spans[0] < 200*time.Millisecond+stretch-50*time.Millisecond {
		t.Errorf("hold spans %v: the first hold should last until the stretch ended", spans)
	}
}
