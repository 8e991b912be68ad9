package wait

import (
	"errors"
	"testing"
	"time"
)

func TestWithinTellsReturnedFromBlocked(t *testing.T) {
	want := errors.New("refused")
	if err := Within(time.Second, func() error { return want }); err != want {
		t.Errorf("a function that returns: %v", err)
	}
	block := make(chan struct{})
	defer close(block)
	start := time.Now()
	err := Within(50*time.Millisecond, func() error { <-block; return nil })
	if !errors.Is(err, ErrStillRunning) || time.Since(start) > time.Second {
		t.Errorf("a blocked function: %v after %s", err, time.Since(start))
	}
}
