package wait

import (
	"errors"
	"fmt"
	"time"
)

// ErrStillRunning is returned by Within for a function that has not
// returned in time.
var ErrStillRunning = errors.New("still running")

// Within runs f and returns its error, or an error wrapping
// ErrStillRunning when f has not returned after d; f then goes on in the
// background. It tells "refused at once" from "blocked", as the tests of
// inputs that could block (a FIFO, a device) must.
func Within(d time.Duration, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("after %s: %w", d, ErrStillRunning)
	}
}
