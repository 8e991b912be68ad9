package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A run made for a campaign cell names it in results.json under
// "campaign" and reads it back; a run of its own writes no such key, and
// a results.json written before it was recorded reads with none.
func TestResultsNameTheirCampaignCell(t *testing.T) {
	dir := t.TempDir()
	of := CampaignOf{Name: "default", ID: "20250102T080000.000", Cell: "etcd-client-pause-fenced"}
	in := RunResult{ID: "r", Cell: "etcd-mutex-client-pause", Campaign: &of, FirstViolation: -1}
	if err := WriteJSON(filepath.Join(dir, ResultsFile), in); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, ResultsFile))
	if !strings.Contains(string(b), `"cell": "etcd-client-pause-fenced"`) {
		t.Errorf("results.json lacks the campaign cell:\n%s", b)
	}
	out, err := ReadRunResult(dir)
	if err != nil || out.Campaign == nil || *out.Campaign != of {
		t.Errorf("read back %+v, %v; want %+v", out.Campaign, err, of)
	}

	none := t.TempDir()
	if err := WriteJSON(filepath.Join(none, ResultsFile), RunResult{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(none, ResultsFile)); strings.Contains(string(b), `"campaign"`) {
		t.Errorf("a run of its own writes campaign:\n%s", b)
	}

	old := t.TempDir()
	if err := os.WriteFile(filepath.Join(old, ResultsFile), []byte(`{"id":"r","cell":"c","status":"valid","first_violation":-1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := ReadRunResult(old); err != nil || out.Campaign != nil {
		t.Errorf("an old results.json reads as %+v, %v; want no campaign", out.Campaign, err)
	}
}
