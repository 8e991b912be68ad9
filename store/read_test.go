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
	"github.com/lockstorm/lockstorm/internal/wait"
)

func TestReadRunResultRefusesAFIFOAtOnceAndAnOversizedFile(t *testing.T) {
	fifoDir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifoDir, ResultsFile), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	err := wait.Within(2*time.Second, func() error { _, err := ReadRunResult(fifoDir); return err })
	if !errors.Is(err, inputfile.ErrNotRegular) || !strings.Contains(err.Error(), filepath.Join(fifoDir, ResultsFile)) {
		t.Errorf("ReadRunResult of a FIFO = %v", err)
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
