package campaign

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// noEvidenceCampaign runs in process: a safe cell whose nemesis does not
// apply to its target, and a safe cell judged by a checker that has
// nothing to judge (no fencing tokens) next to one that has.
const noEvidenceCampaign = `name: no-evidence
defaults:
  time-limit: 1s
  nodes: 1
cells:
  - name: pause-on-inmemory
    target: inmemory
    nemesis: pause
    nemesis-interval: 100ms
    expect: safe
  - name: judged-by-fencing
    target: inmemory
    judge: [fencing, mutual-exclusion]
    expect: safe
`

// Issue 27: a safe cell whose nemesis struck nothing, or whose judge had
// nothing to judge, passed as "safe, as expected". It is not met now, its
// outcome says why, and the campaign exits as for an unmet expectation.
func TestSafeCellsWithoutEvidenceAreNotMet(t *testing.T) {
	f, err := Parse([]byte(noEvidenceCampaign), "no-evidence.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), f.Name, f.Expand(), 1, Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"expected safe under pause, but no fault struck in 1 of 1 runs: no fault was scheduled: nemesis pause: not applicable: pause acts on server nodes, and target inmemory runs in process",
		"expected safe, but in 1 of 1 runs fencing had nothing to judge (No fencing tokens in this history; fencing was not checked)",
	}
	for i, c := range res.Cells {
		if c.Met || c.Status != checker.Valid || c.Outcome != want[i] {
			t.Errorf("cell %s: met %v, %s: %q\nwant %q", c.Name, c.Met, c.Status, c.Outcome, want[i])
		}
	}
	if r := res.Cells[0].Runs; len(r) != 1 || r[0].NoFaults == "" {
		t.Errorf("the cell's run does not carry no_faults: %+v", r)
	}
	if res.ExitCode != ExitUnmet {
		t.Errorf("exit code %d, want %d", res.ExitCode, ExitUnmet)
	}
}

// A cell that expects no safety keeps its verdict, but its outcome says
// that some runs showed nothing.
func TestOtherCellsSayWhenARunShowedNothing(t *testing.T) {
	cr := store.CellResult{Name: "x", Nemesis: "kill", Expect: store.ExpectUnsafe, Runs: []store.CellRun{
		{Status: checker.Invalid, FirstViolation: -1},
		{Status: checker.Valid, FirstViolation: -1, NoFaults: "none of the 2 scheduled faults took effect"},
	}}
	Summarize(&cr)
	if !cr.Met || !strings.HasSuffix(cr.Outcome, "; no fault struck in 1 of 2 runs: none of the 2 scheduled faults took effect") {
		t.Errorf("unsafe cell: met %v, %q", cr.Met, cr.Outcome)
	}
	cr = store.CellResult{Name: "y", Expect: store.ExpectSafe, Runs: []store.CellRun{{Status: checker.Valid, FirstViolation: -1}}}
	Summarize(&cr)
	if !cr.Met || cr.Outcome != "safe, as expected, in 1 of 1 runs" {
		t.Errorf("a safe cell with evidence: met %v, %q", cr.Met, cr.Outcome)
	}
}

// A campaign directory's files are written as files of their own: a
// symbolic link in the place of one is refused before any is written.
func TestWriteDirRefusesALinkInThePlaceOfAReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), store.CampaignsDir, "x")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "somefile")
	if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, JUnitFile)); err != nil {
		t.Fatal(err)
	}
	err := WriteDir(dir, store.CampaignResult{Name: "x"})
	if !errors.Is(err, store.ErrLink) || !strings.Contains(err.Error(), JUnitFile) {
		t.Errorf("WriteDir: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("the linked file was overwritten: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, store.ResultsFile)); err == nil {
		t.Errorf("results.json was written before the link was refused")
	}
}
