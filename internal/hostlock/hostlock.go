// Package hostlock takes locks that every process on one host shares: an
// exclusive flock on a file in the temporary directory. The kernel drops
// such a lock when its holder dies, so a killed process never leaves one
// behind.
package hostlock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// poll is how often Acquire tries a lock that another process holds.
const poll = 50 * time.Millisecond

// Path returns the path of the lock called name in dir (the temporary
// directory when dir is empty).
func Path(dir, name string) string {
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, name)
}

// Acquire takes the exclusive lock on the file at path, creating it,
// and waits until it gets it, ctx ends, or wait has passed (no limit when
// wait is 0). The returned func releases it.
func Acquire(ctx context.Context, path string, wait time.Duration) (release func(), err error) {
	return AcquireTelling(ctx, path, wait, nil)
}

// AcquireTelling is Acquire that calls waiting, if not nil, once when it
// finds the lock held, before it waits.
func AcquireTelling(ctx context.Context, path string, wait time.Duration, waiting func()) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if waiting != nil {
			waiting()
			waiting = nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-deadline:
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w after %s", path, ErrBusy, wait)
		case <-time.After(poll):
		}
	}
}

// ErrBusy means that another process held the lock for longer than the
// caller would wait.
var ErrBusy = errors.New("another process holds it")
