package campaign

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// Cells whose runs broke off are told apart from cells that ran and
// failed: the pure rules first, then a campaign cut short by a signal.

func TestACellWhoseRunsBrokeOffIsNotRunNeverNotReproduced(t *testing.T) {
	infra := store.CellRun{Seed: 1, Status: checker.Unknown, Error: "infrastructure failure: start 3 nodes: no answer"}
	signal := store.CellRun{Seed: 2, Status: checker.Unknown, Error: "context canceled", Interrupted: true}
	found := store.CellRun{Seed: 3, Status: checker.Invalid, Error: "infrastructure failure: later", FirstViolation: 5}
	valid := store.CellRun{Seed: 4, Status: checker.Valid}
	for _, tc := range []struct {
		name        string
		expect      store.Expectation
		runs        []store.CellRun
		speedup     bool
		met         bool
		notRun      string // prefix, "" for a cell with a verdict
		infra       bool
		outcomeHas  string
		outcomeLack string
	}{
		{"unsafe, its only run broke on infrastructure", store.ExpectUnsafe, []store.CellRun{infra}, false, false, "infrastructure: seed 1:", true, "not run", "none of"},
		{"safe, its only run broke on infrastructure", store.ExpectSafe, []store.CellRun{infra}, false, false, "infrastructure:", true, "not run", "safe, as expected"},
		{"contention with speedups, never ran", store.ExpectExplore, nil, true, false, "no run finished", false, "not run", "0 of 0"},
		{"unsafe, cut short by a signal", store.ExpectUnsafe, []store.CellRun{signal}, false, false, "interrupted:", false, "not run", "none of"},
		{"unsafe, found a violation before breaking", store.ExpectUnsafe, []store.CellRun{found}, false, true, "", true, "reproduced in 1 of 1", ""},
		{"safe, one run fine and one broken", store.ExpectSafe, []store.CellRun{valid, infra}, false, false, "", true, "1 of 2 runs broke off", "safe, as expected"},
		{"unsafe, one run fine and one broken", store.ExpectUnsafe, []store.CellRun{valid, infra}, false, false, "", true, "none of the 1 runs that ran to the end", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := store.CellResult{Name: "c", Expect: tc.expect, Runs: tc.runs}
			if tc.speedup {
				cr.Speedup = map[string]float64{checker.Ways[1]: 2}
			}
			Summarize(&cr)
			if cr.Met != tc.met {
				t.Errorf("met = %v, want %v (%s)", cr.Met, tc.met, cr.Outcome)
			}
			if tc.notRun == "" && cr.NotRun != "" || !strings.HasPrefix(cr.NotRun, tc.notRun) {
				t.Errorf("not_run = %q, want prefix %q", cr.NotRun, tc.notRun)
			}
			if (cr.Infrastructure != "") != tc.infra {
				t.Errorf("infrastructure = %q, want set: %v", cr.Infrastructure, tc.infra)
			}
			if !strings.Contains(cr.Outcome, tc.outcomeHas) || tc.outcomeLack != "" && strings.Contains(cr.Outcome, tc.outcomeLack) {
				t.Errorf("outcome %q: want %q in it, %q not", cr.Outcome, tc.outcomeHas, tc.outcomeLack)
			}
			want := ExitUnmet
			switch {
			case tc.met && !tc.infra:
				want = ExitMet
			case tc.infra:
				want = ExitInfraFail
			}
			if got := ExitCode([]store.CellResult{cr}, false); got != want {
				t.Errorf("exit code %d, want %d", got, want)
			}
		})
	}
}

func TestACampaignCutShortBySignalIsUndecidedNotAnInfrastructureFailure(t *testing.T) {
	f, err := Parse([]byte(`name: cut
defaults:
  time-limit: 3s
  rate: 50
cells:
  - name: first
    target: inmemory
    nodes: 1
    expect: safe
  - name: second
    target: inmemory
    nodes: 3
    expect: unsafe
`), "cut.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := Run(ctx, f.Name, f.Expand(), 1, Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("a campaign cut short by a signal reports %v, want no infrastructure error", err)
	}
	if res.ExitCode != ExitUnmet {
		t.Errorf("exit code %d, want %d (undecided, as an interrupted run is unknown)", res.ExitCode, ExitUnmet)
	}
	if !strings.Contains(res.Interrupted, "signal") {
		t.Errorf("interrupted = %q, want it to name the signal", res.Interrupted)
	}
	second := res.Cells[1]
	if len(second.Runs) != 0 || !strings.HasPrefix(second.NotRun, "interrupted:") || strings.Contains(second.Outcome, "none of") {
		t.Errorf("the cell that never started: %d runs, not_run %q, outcome %q", len(second.Runs), second.NotRun, second.Outcome)
	}
}
