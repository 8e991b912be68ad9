package store

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/lockstorm/lockstorm/internal/inputfile"
)

// A running run says so with a lock, not with a file: the harness holds an
// exclusive flock on the run's run.log (LockRun) from the moment it
// creates it until it closes it at the end of the run. The kernel drops
// the lock when the file is closed or the process ends, so a run that was
// killed is not "running" for ever; its results.json stays the first one
// the harness wrote, unknown and "the run did not finish".

// LockRun marks the run whose run.log is f as running for as long as f
// stays open, by taking an exclusive flock on it. It waits only for a
// reader that is checking the lock at that moment (Running), which lets
// go at once.
func LockRun(f *os.File) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", filepath.Base(f.Name()), err)
	}
	return nil
}

// Running reports whether the run in directory dir is still running: its
// run.log is a regular file whose flock another open file holds, as
// LockRun's does. A missing run.log, one that is not a regular file, and
// a free lock all mean that the run is not running.
func Running(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, LogFile), inputfile.Flags, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	return lockedElsewhere(f)
}

// RunningIn is Running for the run directory dir inside root (a
// slash-separated name), for readers such as the store's web server that
// must not follow a link out of the store.
func RunningIn(root *os.Root, dir string) bool {
	f, err := root.OpenFile(path.Join(dir, LogFile), inputfile.Flags, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	return lockedElsewhere(f)
}

// lockedElsewhere reports whether a shared flock on the regular file f is
// refused because another open file holds an exclusive one. A shared lock
// that it gets is given back at once.
func lockedElsewhere(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	fd := int(f.Fd())
	err = syscall.Flock(fd, syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}
