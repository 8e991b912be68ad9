package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The version the server reported goes into a run's results.json and a
// campaign's, under server_version, and comes back; a run without one has
// no such key, and a results.json written before it reads with none.
func TestResultsKeepTheServerVersion(t *testing.T) {
	dir := t.TempDir()
	in := RunResult{ID: "r", Cell: "etcd-mutex-none", FirstViolation: -1, ServerVersion: "etcd 3.4.23"}
	if err := WriteJSON(filepath.Join(dir, ResultsFile), in); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"server_version": "etcd 3.4.23"`) {
		t.Errorf("results.json lacks server_version:\n%s", b)
	}
	out, err := ReadRunResult(dir)
	if err != nil || out.ServerVersion != "etcd 3.4.23" {
		t.Errorf("read back %q, %v; want etcd 3.4.23", out.ServerVersion, err)
	}

	none := t.TempDir()
	if err := WriteJSON(filepath.Join(none, ResultsFile), RunResult{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(none, ResultsFile)); strings.Contains(string(b), "server_version") {
		t.Errorf("a run without a version writes server_version:\n%s", b)
	}

	old := t.TempDir()
	if err := os.WriteFile(filepath.Join(old, ResultsFile), []byte(`{"id":"r","cell":"c","status":"valid","first_violation":-1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err := ReadRunResult(old); err != nil || r.ServerVersion != "" || r.ID != "r" {
		t.Errorf("an old results.json: %+v, %v", r, err)
	}

	path := filepath.Join(t.TempDir(), ResultsFile)
	c := CampaignResult{Name: "m", Cells: []CellResult{{Name: "a", Runs: []CellRun{{Seed: 1, ServerVersion: "redis 7.0.15"}, {Seed: 2}}}}}
	if err := WriteJSON(path, c); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); strings.Count(string(b), `"server_version"`) != 1 {
		t.Errorf("campaign results.json: want one server_version (none for the run without):\n%s", b)
	}
	back, err := ReadCampaignResult(path)
	if err != nil || back.Cells[0].Runs[0].ServerVersion != "redis 7.0.15" || back.Cells[0].Runs[1].ServerVersion != "" {
		t.Errorf("campaign read back %+v, %v", back, err)
	}
}
