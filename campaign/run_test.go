package campaign

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

// inmemoryCampaign runs in process: no Docker needed.
const inmemoryCampaign = `name: inmemory
defaults:
  time-limit: 2s
  rate: 100
cells:
  - name: across-machines
    target: inmemory
    nodes: 3
    expect: unsafe
  - name: one-machine
    target: inmemory
    nodes: 1
    expect: safe
  - name: one-machine-crash
    target: inmemory
    nodes: 1
    nemesis: client-crash
    nemesis-interval: 1s
    expect: unsafe
    judge: [liveness]
`

func TestCampaignOfInMemoryCellsMeetsExpectations(t *testing.T) {
	f, err := Parse([]byte(inmemoryCampaign), "inmemory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	res, err := Run(context.Background(), f.Name, f.Expand(), 1, Options{StoreDir: root})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cells {
		if !c.Met {
			t.Errorf("cell %s: %s (status %s)", c.Name, c.Outcome, c.Status)
		}
	}
	if res.ExitCode != ExitMet {
		t.Errorf("exit code %d", res.ExitCode)
	}
	if res.Cells[0].Status != checker.Invalid || res.Cells[1].Status != checker.Valid {
		t.Errorf("verdicts: %s, %s", res.Cells[0].Status, res.Cells[1].Status)
	}
	dir := filepath.Join(root, store.CampaignsDir, res.ID)
	for _, name := range []string{store.ResultsFile, store.IndexFile, JUnitFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("campaign file missing: %v", err)
		}
	}
	for _, r := range res.Cells[0].Runs {
		if _, err := os.Stat(filepath.Join(root, r.Dir, store.HistoryFile)); err != nil {
			t.Errorf("run link %s is broken: %v", r.Dir, err)
		}
	}
	// The store names each run by its cell: cells/<cell>/1 is the cell's run.
	for _, c := range res.Cells {
		got, err := filepath.EvalSymlinks(filepath.Join(dir, store.CellsDir, c.Name, "1"))
		if err != nil {
			t.Errorf("cell %s: %v", c.Name, err)
			continue
		}
		want, _ := filepath.EvalSymlinks(filepath.Join(root, c.Runs[0].Dir))
		if got != want {
			t.Errorf("cells/%s/1 leads to %s, want %s", c.Name, got, want)
		}
	}
}

func TestShardsMergeIntoTheWholeCampaign(t *testing.T) {
	f, err := Parse([]byte(inmemoryCampaign), "inmemory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	cells := f.Expand()
	var dirs []string
	for i := 1; i <= 2; i++ {
		part, _ := Shard(cells, i, 2)
		res, err := Run(context.Background(), f.Name, part, 1, Options{StoreDir: root, Shard: "x"})
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, filepath.Join(root, store.CampaignsDir, res.ID))
	}
	merged, _, err := Merge(root, dirs)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Cells) != len(cells) {
		t.Fatalf("merged %d cells, want %d", len(merged.Cells), len(cells))
	}
	for i, c := range merged.Cells {
		if c.Name != cells[i].Name {
			t.Errorf("merged cell %d is %s, want %s (campaign order)", i, c.Name, cells[i].Name)
		}
		if len(c.Runs) != len(cells[i].Seeds) {
			t.Errorf("cell %s has %d runs, want %d", c.Name, len(c.Runs), len(cells[i].Seeds))
		}
	}
	if merged.ExitCode != ExitMet {
		t.Errorf("merged exit code %d", merged.ExitCode)
	}
}

// Two cells with the same target, workload and nemesis share a store
// directory (<target>-<workload>-<nemesis>); each run's results.json
// names the cell it was made for, and its campaign, so that the store's
// index and the run's page can tell them apart (issue 32).
func TestRunsNameTheirCampaignCell(t *testing.T) {
	const twins = `name: twins
defaults:
  nodes: 1
  time-limit: 1s
  rate: 50
cells:
  - name: one-machine
    target: inmemory
    expect: safe
  - name: one-machine-fenced
    target: inmemory
    expect: safe
    fencing: true
`
	f, err := Parse([]byte(twins), "twins.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	res, err := Run(context.Background(), f.Name, f.Expand(), 1, Options{StoreDir: root})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cells) != 2 || len(res.Cells[0].Runs) == 0 || len(res.Cells[1].Runs) == 0 {
		t.Fatalf("cells %+v", res.Cells)
	}
	if a, b := filepath.Dir(res.Cells[0].Runs[0].Dir), filepath.Dir(res.Cells[1].Runs[0].Dir); a != b {
		t.Fatalf("the two cells' runs are in %s and %s: the test wants them to share a directory", a, b)
	}
	for _, c := range res.Cells {
		for _, r := range c.Runs {
			rr, err := store.ReadRunResult(filepath.Join(root, r.Dir))
			if err != nil {
				t.Fatal(err)
			}
			want := store.CampaignOf{Name: "twins", ID: res.ID, Cell: c.Name}
			if rr.Campaign == nil || *rr.Campaign != want {
				t.Errorf("run %s of cell %s: results.json names campaign %+v, want %+v", r.Dir, c.Name, rr.Campaign, want)
			}
		}
	}
}

// Several workers start the longest cells first (a margin's search, then
// by time limit times runs), ties in file order; one worker keeps the
// file's order.
func TestDispatchOrderStartsTheLongestCellsFirst(t *testing.T) {
	cell := func(limit time.Duration, runs int) Cell {
		return Cell{Plan: plan.Plan{TimeLimit: limit}, Seeds: make([]int64, runs)}
	}
	cells := []Cell{cell(5*time.Second, 1), cell(40*time.Second, 1), cell(20*time.Second, 1), cell(10*time.Second, 3), cell(20*time.Second, 1), {Margin: &MarginSpec{}}}
	if got, want := dispatchOrder(cells, 2), []int{5, 1, 3, 2, 4, 0}; !slices.Equal(got, want) {
		t.Errorf("two workers: %v, want %v", got, want)
	}
	if got, want := dispatchOrder(cells, 1), []int{0, 1, 2, 3, 4, 5}; !slices.Equal(got, want) {
		t.Errorf("one worker: %v, want %v", got, want)
	}
}
