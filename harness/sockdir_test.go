package harness

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The socket directory of a lockstorm process that is gone is removed on
// the next start; those of running processes, and other files, stay.
func TestReapSocketDirsRemovesOnlyThoseOfGoneProcesses(t *testing.T) {
	tmp := t.TempDir()
	mine := filepath.Join(tmp, socketDirPrefix+strconv.Itoa(os.Getpid())+"-123")
	// No process has id 2^22+1: Linux's pid_max is at most 2^22.
	gone := filepath.Join(tmp, socketDirPrefix+"4194305-456")
	odd := filepath.Join(tmp, socketDirPrefix+"nopid")
	other := filepath.Join(tmp, "lockstorm-other-4194305-1")
	for _, d := range []string{mine, gone, odd, other} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	reapSocketDirs(tmp, slog.New(slog.DiscardHandler))
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("the directory of a gone process is still there: %v", err)
	}
	for _, d := range []string{mine, odd, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(d), err)
		}
	}
}
