package campaign

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lockstorm/lockstorm/store"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/targets/inmemory"
)

// versionedMemory is the in-memory mutex under another name, with a
// server that says its version, so that a campaign runs a target that
// reports one without Docker.
type versionedMemory struct{ *inmemory.Service }

func (versionedMemory) Name() string { return "inmemory-versioned" }

func (versionedMemory) ServerVersion(context.Context) (string, error) { return "inmemory 1.2.3", nil }

var extendOnce sync.Once

// Each run of a cell keeps the version its server reported, in the
// campaign's results.json and on its page.
func TestCampaignKeepsTheServerVersionOfEachRun(t *testing.T) {
	extendOnce.Do(func() {
		targets.Extend(func() targets.Service { return versionedMemory{inmemory.New()} })
	})
	f, err := Parse([]byte("name: v\ndefaults:\n  time-limit: 300ms\ncells:\n  - target: inmemory-versioned\n    nodes: 1\n    expect: safe\n"), "v.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	res, err := Run(context.Background(), f.Name, f.Expand(), 1, Options{StoreDir: root})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cells) != 1 || len(res.Cells[0].Runs) != 1 || res.Cells[0].Runs[0].ServerVersion != "inmemory 1.2.3" {
		t.Fatalf("cells %+v; want one run with server version inmemory 1.2.3", res.Cells)
	}
	dir := filepath.Join(root, store.CampaignsDir, res.ID)
	back, err := store.ReadCampaignResult(filepath.Join(dir, store.ResultsFile))
	if err != nil || back.Cells[0].Runs[0].ServerVersion != "inmemory 1.2.3" {
		t.Errorf("the campaign's results.json: %v, %v", back.Cells, err)
	}
	page, err := os.ReadFile(filepath.Join(dir, store.IndexFile))
	if err != nil || !strings.Contains(string(page), "server <b>inmemory 1.2.3</b>") {
		t.Errorf("the campaign page does not show the cell's server version (%v)", err)
	}
	run, err := store.ReadRunResult(filepath.Join(root, res.Cells[0].Runs[0].Dir))
	if err != nil || run.ServerVersion != "inmemory 1.2.3" {
		t.Errorf("the run's results.json: %q, %v", run.ServerVersion, err)
	}
}
