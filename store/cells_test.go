package store

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLinkCellsNamesEachRunByItsCell(t *testing.T) {
	root := t.TempDir()
	run := func(dir string) {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dir, ResultsFile), []byte(dir), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A plain and a fenced cell of one target, workload and nemesis: their
	// run directories differ only by timestamp.
	run("redis-mutex-client-pause/20261207T100000Z")
	run("redis-mutex-client-pause/20261207T100100Z")
	run("redis-mutex-client-pause/20261207T100200Z")
	camp := filepath.Join(root, CampaignsDir, "20261207T100000Z")
	if err := os.MkdirAll(camp, 0o755); err != nil {
		t.Fatal(err)
	}
	res := CampaignResult{Cells: []CellResult{
		{Name: "ttl-lock-holder-stalls", Runs: []CellRun{{Dir: "redis-mutex-client-pause/20261207T100000Z"}, {Dir: "redis-mutex-client-pause/20261207T100100Z"}}},
		{Name: "ttl-lock-holder-stalls fenced/1", Runs: []CellRun{{Dir: "redis-mutex-client-pause/20261207T100200Z"}, {}}},
		{Name: "ttl-lock-holder-stalls", Runs: nil},
	}}
	if err := LinkCells(camp, res); err != nil {
		t.Fatal(err)
	}
	for link, want := range map[string]string{
		"ttl-lock-holder-stalls/1":          "redis-mutex-client-pause/20261207T100000Z",
		"ttl-lock-holder-stalls/2":          "redis-mutex-client-pause/20261207T100100Z",
		"ttl-lock-holder-stalls-fenced-1/1": "redis-mutex-client-pause/20261207T100200Z",
	} {
		b, err := os.ReadFile(filepath.Join(camp, CellsDir, link, ResultsFile))
		if err != nil {
			t.Fatalf("%s: %v", link, err)
		}
		if string(b) != want {
			t.Errorf("%s leads to %s, want %s", link, b, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(camp, CellsDir, "ttl-lock-holder-stalls-fenced-1", "2")); err == nil {
		t.Error("a run without a directory got a link")
	}
	// Moving the store keeps the links (they are relative).
	moved := root + "-moved"
	if err := os.Rename(root, moved); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(moved)
	if _, err := os.ReadFile(filepath.Join(moved, CampaignsDir, "20261207T100000Z", CellsDir, "ttl-lock-holder-stalls", "1", ResultsFile)); err != nil {
		t.Errorf("after moving the store: %v", err)
	}
}

func TestCellLinkName(t *testing.T) {
	for in, want := range map[string]string{
		"etcd-mutex-pause": "etcd-mutex-pause",
		"a b/c":            "a-b-c",
		"..":               "-.",
		".hidden":          "-hidden",
		"":                 "-",
		"é":                "--",
	} {
		if got := CellLinkName(in); got != want {
			t.Errorf("CellLinkName(%q) = %q, want %q", in, got, want)
		}
	}
}
