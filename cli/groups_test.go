package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/store"
)

// A misspelt subcommand of a command group, or none, is exit 3 naming the
// word and the valid subcommands: it printed the group's help and exited
// 0, so that a CI step with a typo passed doing nothing.
func TestUnknownSubcommandsOfAGroupExit3(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"report", "merg"}, `report: unknown subcommand "merg" (valid: merge; did you mean merge?)`},
		{[]string{"image", "biuld"}, `image: unknown subcommand "biuld" (valid: build; did you mean build?)`},
		{[]string{"report"}, "report needs a subcommand (valid: merge"},
		{[]string{"image"}, "image needs a subcommand (valid: build"},
	}
	for _, c := range cases {
		code, out, errOut := lockstorm(t, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want 3 with %q\nstdout: %s\nstderr: %s", c.args, code, c.want, out, errOut)
		}
	}
	if code, out, _ := lockstorm(t, "report", "--help"); code != exitValid || !strings.Contains(out, "merge") {
		t.Errorf("report --help: exit %d\n%s", code, out)
	}
}

// writeShard writes a campaign shard's results.json into a new directory
// and returns the directory.
func writeShard(t *testing.T, id, shard string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "campaigns", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	res := store.CampaignResult{Name: "x", ID: id, Shard: shard, Started: time.Now(), Cells: []store.CellResult{
		{Name: "cell-" + shard, Expect: store.ExpectExplore, Runs: []store.CellRun{{Seed: 1, Status: "valid", FirstViolation: -1}}},
	}}
	if err := store.WriteJSON(filepath.Join(dir, store.ResultsFile), res); err != nil {
		t.Fatal(err)
	}
	return dir
}

// report merge refuses a shard given twice, however it is named: its runs
// would count twice.
func TestReportMergeRefusesTheSameShardTwice(t *testing.T) {
	a, b := writeShard(t, "20260101T000000.000", "1/2"), writeShard(t, "20260101T000000.001", "2/2")
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	copied := writeShard(t, "20260101T000000.000", "1/2") // a copy of a, elsewhere
	for _, second := range []string{a, a + "/", filepath.Join(a, store.ResultsFile), filepath.Join(a, "..", filepath.Base(a)), link, copied} {
		code, out, errOut := lockstorm(t, "report", "merge", "--store", t.TempDir(), a, second)
		if code != exitUsage || !strings.Contains(errOut, "the same shard as "+a) {
			t.Errorf("merge %s %s: exit %d, want 3\nstdout: %s\nstderr: %s", a, second, code, out, errOut)
		}
	}
	if code, out, errOut := lockstorm(t, "report", "merge", "--store", t.TempDir(), a, b); code != exitValid {
		t.Errorf("merge of two shards: exit %d\n%s%s", code, out, errOut)
	}
}

// An empty --store or --cells, given explicitly, is refused on every
// command that has it: an empty --cells ran every cell, an empty --store
// wrote into ./store.
func TestEmptyStoreAndCellsAreRefused(t *testing.T) {
	shard := writeShard(t, "20260101T000000.000", "1/1")
	cases := [][]string{
		{"run", "--target", "inmemory", "--store", ""},
		{"campaign", "--store", " "},
		{"campaign", "--cells", ""},
		{"campaign", "--smoke", "--cells="},
		{"report", "merge", "--store", "", shard},
		{"serve", ""},
	}
	for _, args := range cases {
		code, out, errOut := lockstorm(t, args...)
		if code != exitUsage || !strings.Contains(errOut, " is empty") {
			t.Errorf("%q: exit %d, want 3 saying it is empty\nstdout: %s\nstderr: %s", args, code, out, errOut)
		}
	}
}
