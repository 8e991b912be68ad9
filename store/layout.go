package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/internal/inputfile"
)

// File names inside a run directory (DESIGN.md, "Store layout").
const (
	HistoryFile         = "history.jsonl"
	ResultsFile         = "results.json"
	IndexFile           = "index.html"
	LinearizabilityFile = "linearizability.html"
	LogFile             = "run.log"
	NodesDir            = "nodes"
	CampaignsDir        = "campaigns"
	MarginsDir          = "margins"
	LatestLink          = "latest"
)

// DefaultDir is the store used when --store is not given.
const DefaultDir = "store"

// TimestampFormat names run and campaign directories; it sorts in time
// order and is safe in file names.
const TimestampFormat = "20060102T150405.000"

// CellName returns "<target>-<workload>-<nemesis>" with the nemeses joined by
// "+", or "none" when there are none.
func CellName(target, workload string, nemeses []string) string {
	n := strings.Join(nemeses, "+")
	if n == "" {
		n = "none"
	}
	return target + "-" + workload + "-" + n
}

// NewRunDir creates store/<cell>/<timestamp>/ and returns its path and id.
// If the timestamp is taken (two runs in one millisecond), a suffix is added.
func NewRunDir(root, cell string, now time.Time) (dir, id string, err error) {
	base := now.UTC().Format(TimestampFormat)
	for i := 0; i < 100; i++ {
		id = base
		if i > 0 {
			id = fmt.Sprintf("%s-%d", base, i)
		}
		dir = filepath.Join(root, cell, id)
		if err = os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", "", fmt.Errorf("create store: %w", err)
		}
		err = os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, id, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", "", fmt.Errorf("create run directory: %w", err)
		}
	}
	return "", "", fmt.Errorf("create run directory under %s: %w", cell, err)
}

// UpdateLatest points store/latest at the run directory dir (given as a
// path under root). It replaces the link atomically.
func UpdateLatest(root, dir string) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return fmt.Errorf("latest link: %w", err)
	}
	tmp := filepath.Join(root, fmt.Sprintf(".latest-%d", os.Getpid()))
	_ = os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return fmt.Errorf("latest link: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(root, LatestLink)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("latest link: %w", err)
	}
	return nil
}

// WriteJSON writes v as indented JSON to path, with WriteFile: through a
// temporary file, so that readers never see half a file, and never
// through a symbolic link.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return WriteFile(path, append(b, '\n'))
}

// MaxResultsSize bounds a results.json, of a run or of a campaign, that
// lockstorm reads back: 64 MiB is hundreds of times what the largest runs
// and campaigns write.
const MaxResultsSize = 64 << 20

// ReadRunResult reads the results.json of a run directory. A results.json
// that is not a regular file, or is larger than MaxResultsSize, is refused
// at once.
func ReadRunResult(dir string) (RunResult, error) {
	var r RunResult
	return r, readResults(filepath.Join(dir, ResultsFile), &r)
}

// ReadCampaignResult reads a campaign's results.json at path, with the
// limits of ReadRunResult.
func ReadCampaignResult(path string) (CampaignResult, error) {
	var c CampaignResult
	return c, readResults(path, &c)
}

func readResults(path string, v any) error {
	b, err := inputfile.ReadFile(path, MaxResultsSize)
	if err != nil {
		return fmt.Errorf("read results: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
