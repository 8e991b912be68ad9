//go:build unix

package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/internal/inputfile"
)

func TestReadRunResultRefusesAFIFOAtOnceAndAnOversizedFile(t *testing.T) {
	fifoDir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifoDir, ResultsFile), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadRunResult(fifoDir); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, inputfile.ErrNotRegular) || !strings.Contains(err.Error(), filepath.Join(fifoDir, ResultsFile)) {
			t.Errorf("ReadRunResult of a FIFO = %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("ReadRunResult blocked on a FIFO")
	}
	bigDir := t.TempDir()
	big := filepath.Join(bigDir, ResultsFile)
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxResultsSize+1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	if _, err := ReadRunResult(bigDir); !errors.Is(err, inputfile.ErrTooLarge) || !strings.Contains(err.Error(), "64 MiB") {
		t.Errorf("ReadRunResult of %d bytes = %v", MaxResultsSize+1, err)
	}
	if _, err := ReadCampaignResult(big); !errors.Is(err, inputfile.ErrTooLarge) {
		t.Errorf("ReadCampaignResult of %d bytes = %v", MaxResultsSize+1, err)
	}
	if _, err := ReadRunResult(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing results.json must still read as not existing (Recheck relies on it): %v", err)
	}
}
