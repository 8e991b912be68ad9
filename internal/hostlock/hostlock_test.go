package hostlock

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// flock locks belong to an open file, so two Acquires in one process
// contend as two processes would.

func TestAcquireWaitsForTheHolderAndGivesUpAfterItsWait(t *testing.T) {
	path := Path(t.TempDir(), "x.lock")
	release, err := Acquire(context.Background(), path, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := Acquire(context.Background(), path, 200*time.Millisecond); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Acquire while held = %v, want ErrBusy", err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("gave up after %s, before its wait", waited)
	}
	var got atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		r, err := Acquire(context.Background(), path, 5*time.Second)
		if err == nil {
			got.Store(true)
			r()
		}
	}()
	time.Sleep(150 * time.Millisecond)
	if got.Load() {
		t.Fatal("a second holder got the lock while the first held it")
	}
	release()
	<-done
	if !got.Load() {
		t.Fatal("the waiter did not get the lock once it was released")
	}
}

func TestAcquireEndsWithItsContext(t *testing.T) {
	path := Path(t.TempDir(), "x.lock")
	release, err := Acquire(context.Background(), path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, path, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire under an ended context = %v", err)
	}
}
