package store

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
)

// results.json keeps a run's phases and when it stopped early, and a
// results.json written before they were recorded still loads, without
// them.
func TestPhasesAndEarlyStopRoundTripAndOldResultsLoad(t *testing.T) {
	dir := t.TempDir()
	in := RunResult{ID: "r", Cell: "c", FirstViolation: 5, StoppedEarlyAt: 7_000_000_000,
		Phases: []Phase{{"cluster", 3.1}, {"setup", 0.7}, {"workload", 60}, {"check", 0.2}}}
	if err := WriteJSON(filepath.Join(dir, ResultsFile), in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadRunResult(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Phases, in.Phases) || out.StoppedEarlyAt != in.StoppedEarlyAt {
		t.Errorf("read back phases %v, stopped %d; wrote %v, %d", out.Phases, out.StoppedEarlyAt, in.Phases, in.StoppedEarlyAt)
	}
	var old RunResult
	if err := json.Unmarshal([]byte(`{"id":"r","cell":"c","status":"valid","first_violation":-1}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.Phases != nil || old.StoppedEarlyAt != 0 {
		t.Errorf("an old results.json read as phases %v, stopped %d", old.Phases, old.StoppedEarlyAt)
	}
}
