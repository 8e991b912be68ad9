package campaign

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/margin"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

// A cell's margin: is read with its defaults, and each bad margin: is
// refused with the file and the line of the problem.
func TestParseMarginCell(t *testing.T) {
	f, err := Parse([]byte(`name: m
cells:
  - name: stall
    target: inmemory
    nemesis: client-pause
    margin: {vary: "client-pause.stall=200ms..3s", seeds: 3}
  - name: default-seeds
    target: inmemory
    nemesis: client-pause
    seeds: [4]
    hold: auto
    margin:
      vary: client-pause.stall=1s..2s
      precision: 100ms
  - name: plain
    target: inmemory
    nemesis: client-pause
`), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells := f.Expand()
	m := cells[0].Margin
	if m == nil || m.vary.Option != "client-pause.stall" || m.vary.From != 200*time.Millisecond || m.vary.To != 3*time.Second || m.Seeds != 3 {
		t.Fatalf("margin %+v", m)
	}
	if got := marginSeeds(cells[0]); len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Errorf("seeds %v, want 1 2 3", got)
	}
	// A margin cell's runs hold for margin.DefaultHold unless the cell
	// says hold:; other cells keep the auto hold.
	if cells[0].Plan.Hold != margin.DefaultHold || cells[1].Plan.Hold != plan.HoldAuto || cells[2].Plan.Hold != plan.HoldAuto {
		t.Errorf("holds %v %v %v, want %v, auto, auto", cells[0].Plan.Hold, cells[1].Plan.Hold, cells[2].Plan.Hold, margin.DefaultHold)
	}
	m = cells[1].Margin
	if m.Seeds != DefaultMarginSeeds || m.Precision != 100*time.Millisecond || marginSeeds(cells[1])[0] != 4 {
		t.Errorf("margin %+v, seeds %v", m, marginSeeds(cells[1]))
	}

	cell := func(extra, margin string) string {
		return "cells:\n  - name: c\n    target: inmemory\n    nemesis: client-pause\n" + extra + "    margin: " + margin + "\n"
	}
	for _, c := range []struct{ file, want string }{
		{cell("", `{vary: "client-pause.stall=200ms..3s", sedes: 3}`), `bad.yaml:5: margin: unknown field "sedes"`},
		{cell("", `{vary: "client-pause.stall=3s..1s"}`), `bad.yaml:5: margin: vary: "client-pause.stall=3s..1s": TO 1s must be above FROM 3s`},
		{cell("", `{vary: "client-pause.stall=1s..3s", seeds: 0}`), `bad.yaml:5: margin: seeds: "0" must be a number of runs at each value, 1..100`},
		{cell("", `{seeds: 3}`), "bad.yaml:5: margin: vary is missing"},
		{cell("", `client-pause.stall=1s..3s`), "bad.yaml:5: margin: want a mapping"},
		{cell("", `{vary: "client-pause.stal=1s..3s"}`), `bad.yaml:5: cell "c": margin: vary client-pause.stal=1s..3s: no nemesis of the run (client-pause) has option client-pause.stal (their options: client-pause.stall)`},
		{cell("    expect: safe\n", `{vary: "client-pause.stall=1s..3s"}`), `bad.yaml:6: cell "c": margin: expect: safe: a margin cell measures, it expects nothing`},
		{cell("    options: {client-pause.stall: 1s}\n", `{vary: "client-pause.stall=1s..3s"}`), `bad.yaml:6: cell "c": margin: vary client-pause.stall: also set in options`},
		{cell("", `{vary: "client-pause.stall=0s..3s"}`), `bad.yaml:5: cell "c": margin: vary client-pause.stall=0s..3s: client-pause.stall takes no duration 0s`},
		{"cells:\n  - name: c\n    target: inmemory\n    margin: {vary: \"client-pause.stall=1s..3s\"}\n", `bad.yaml:4: cell "c": margin: a margin varies a fault of the run; give the cell a nemesis`},
	} {
		_, err := Parse([]byte(c.file), "bad.yaml")
		if err == nil || !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\ngot  %v\nwant %s", c.file, err, c.want)
		}
	}
}

// A margin cell runs the search (in process, on the in-memory lock: one
// node never breaks, so the margin is above the range), writes the
// margin's results.json and page under store/margins/, and the campaign
// result and page carry the margin with a link to its page.
func TestCampaignMarginCellInMemory(t *testing.T) {
	f, err := Parse([]byte(`name: m
defaults:
  time-limit: 1s
  nemesis-interval: 1s
cells:
  - name: stall
    target: inmemory
    nodes: 1
    nemesis: client-pause
    margin: {vary: "client-pause.stall=200ms..2s", seeds: 1}
`), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	res, err := Run(context.Background(), f.Name, f.Expand(), 1, Options{StoreDir: root})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Cells[0]
	if c.Margin == nil || c.Margin.Outcome != margin.AboveRange || c.Margin.Holds == nil || *c.Margin.Holds != 2*time.Second ||
		len(c.Runs) != 2 || !c.Met || res.ExitCode != ExitMet {
		t.Fatalf("cell %+v, margin %+v, exit %d", c, c.Margin, res.ExitCode)
	}
	if !strings.HasPrefix(mrCommand(t, root, c.Margin.Dir), "lockstorm margin --target inmemory") ||
		!strings.HasSuffix(mrCommand(t, root, c.Margin.Dir), "--vary client-pause.stall=200ms..2s --seeds 1") {
		t.Errorf("margin command %q", mrCommand(t, root, c.Margin.Dir))
	}
	if c.Outcome != "margin of client-pause.stall: no boundary in range (above-range)" {
		t.Errorf("outcome %q", c.Outcome)
	}
	mr, err := store.ReadMarginResult(filepath.Join(root, filepath.FromSlash(c.Margin.Dir)))
	if err != nil || len(mr.Margin.Steps) != 2 || len(mr.Margin.Steps[0].Trials) != 1 {
		t.Fatalf("margin results: %v %+v", err, mr)
	}
	for _, r := range c.Runs {
		if _, err := os.Stat(filepath.Join(root, r.Dir, store.ResultsFile)); err != nil {
			t.Errorf("run %s: %v", r.Dir, err)
		}
	}
	page, err := os.ReadFile(filepath.Join(root, store.CampaignsDir, res.ID, store.IndexFile))
	if err != nil || !strings.Contains(string(page), `href="../../`+c.Margin.Dir+`/index.html">margin page</a>`) {
		t.Errorf("campaign page does not link the margin %s: %v", c.Margin.Dir, err)
	}
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(c.Margin.Dir), store.IndexFile)); err != nil {
		t.Errorf("margin page: %v", err)
	}
}

// mrCommand is the command recorded in the margin at dir under root.
func mrCommand(t *testing.T, root, dir string) string {
	t.Helper()
	mr, err := store.ReadMarginResult(filepath.Join(root, filepath.FromSlash(dir)))
	if err != nil {
		t.Fatal(err)
	}
	return mr.Command
}
