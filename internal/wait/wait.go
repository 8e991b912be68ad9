// Package wait holds the waits that every part of a run needs: a sleep
// that ends with its context, and polling until a check passes.
package wait

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sleep waits d or until ctx ends, and reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Until waits until t or until ctx ends, and reports whether t came.
func Until(ctx context.Context, t time.Time) bool {
	return Sleep(ctx, time.Until(t))
}

// For polls check every interval until it returns nil or timeout passes,
// and returns the last error. Each check gets a context bounded by four
// intervals plus a second.
func For(ctx context.Context, timeout, interval time.Duration, check func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, interval*4+time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", timeout, last)
		}
		if !Sleep(ctx, interval) {
			return errors.Join(ctx.Err(), last)
		}
	}
}
