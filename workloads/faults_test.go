package workloads

import (
	"context"
	"errors"
	"testing"
	"time"
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
