package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockName is the file, in the temporary directory, that processes building
// the image lock so that two of them do not build the same image at once.
const lockName = "lockstorm-image-build.lock"

// lockDir is where the lock file lives; tests point it elsewhere.
var lockDir = os.TempDir()

// lockBuild takes an exclusive flock shared by every lockstorm process on
// this host, polling until ctx ends. waiting, if not nil, is called once
// when the lock is found held, before the wait. The returned func releases
// the lock.
func lockBuild(ctx context.Context, waiting func()) (func(), error) {
	path := filepath.Join(lockDir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open build lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
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
			return nil, fmt.Errorf("wait for build lock: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
