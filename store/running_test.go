package store

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A run is running while an open file of its run.log holds LockRun's
// lock, in this process or another (flock locks belong to the open file,
// so a second open here stands for the harness), and not once that file
// is closed, as when the harness ends or is killed.
func TestRunningWhileTheRunLogIsLocked(t *testing.T) {
	dir := t.TempDir()
	if Running(dir) {
		t.Fatal("a run directory without run.log is running")
	}
	f, err := os.Create(filepath.Join(dir, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	if Running(dir) {
		t.Fatal("a run.log that nobody locked is running")
	}
	if err := LockRun(f); err != nil {
		t.Fatal(err)
	}
	if !Running(dir) {
		t.Fatal("a run.log locked by LockRun is not running")
	}
	root, err := os.OpenRoot(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if !RunningIn(root, filepath.Base(dir)) {
		t.Error("RunningIn does not see the lock that Running sees")
	}
	// Asking leaves the lock as it was: still held, still refused to others.
	if !Running(dir) {
		t.Error("the run stopped running after it was asked twice")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if Running(dir) || RunningIn(root, filepath.Base(dir)) {
		t.Error("the run is still running after its run.log was closed")
	}
}

// A lock that another open file holds through plain flock counts too, as
// the lock of a harness in another process would.
func TestRunningSeesAFlockFromAnotherOpenFile(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if !Running(dir) {
		t.Error("an exclusive flock on run.log does not make the run running")
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if Running(dir) {
		t.Error("the run is running after the flock was released")
	}
}

// A run.log that is not a regular file (a FIFO someone left) is not
// running, and asking does not block on it.
func TestRunningIsFalseForAFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, LogFile), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if Running(dir) {
		t.Error("a FIFO run.log is running")
	}
}
