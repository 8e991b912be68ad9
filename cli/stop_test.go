package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/store"
)

// A bad --stop-after-violation is exit 3 naming the flag, before anything
// runs; so is a bad stop-after-violation: in a campaign file, naming the
// file and line.
func TestStopAfterViolationIsCheckedUpFront(t *testing.T) {
	st := t.TempDir()
	for _, v := range []string{"-1s", "soon", "25h"} {
		code, _, errOut := lockstorm(t, "run", "--target", "inmemory", "--stop-after-violation", v, "--store", st)
		if code != exitUsage || !strings.Contains(errOut, "stop-after-violation") {
			t.Errorf("run --stop-after-violation %s: exit %d, stderr %s", v, code, errOut)
		}
	}
	for _, c := range []struct{ body, want string }{
		{"name: x\ndefaults:\n  stop-after-violation: -2s\ncells:\n  - {target: inmemory, expect: unsafe}\n", "c.yaml:2: defaults: stop-after-violation: -2s must be 0 (off) or positive"},
		{"name: x\ncells:\n  - {name: a, target: inmemory, expect: safe}\n  - {name: b, target: inmemory, nodes: 3, expect: unsafe, stop-after-violation: -1s}\n", "c.yaml:4: cell \"b\": stop-after-violation: -1s must be 0 (off) or positive"},
		{"name: x\ncells:\n  - {target: inmemory, expect: unsafe, stop-after-violation: soon}\n", `c.yaml:3: "soon" is not a duration`},
	} {
		code, out, errOut := lockstorm(t, "campaign", "--store", st, writeCampaign(t, c.body))
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("campaign: exit %d, want 3 with %q\nstdout: %s\nstderr: %s", code, c.want, out, errOut)
		}
	}
	if ents, _ := os.ReadDir(st); len(ents) != 0 {
		t.Errorf("the refused commands wrote into the store: %v", ents)
	}
}

// A campaign's stop-after-violation: stops the runs of a cell that
// expects unsafe after their first violation, and leaves a cell that
// expects safe to run its whole time limit, though both break mutual
// exclusion (three in-memory mutexes that know nothing of each other).
func TestOnlyUnsafeCellsStopAfterAViolation(t *testing.T) {
	st := t.TempDir()
	f := writeCampaign(t, "name: x\ndefaults:\n  time-limit: 3s\n  nodes: 3\n  client: go\n  stop-after-violation: 200ms\ncells:\n"+
		"  - {name: claims-unsafe, target: inmemory, expect: unsafe}\n"+
		"  - {name: claims-safe, target: inmemory, expect: safe}\n")
	code, out, errOut := lockstorm(t, "campaign", "--store", st, f)
	if code != exitInvalid && code != 1 {
		t.Logf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	paths, _ := filepath.Glob(filepath.Join(st, store.CampaignsDir, "*", store.ResultsFile))
	if len(paths) != 1 {
		t.Fatalf("campaign results: %v\nstdout: %s\nstderr: %s", paths, out, errOut)
	}
	c, err := store.ReadCampaignResult(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, cell := range c.Cells {
		if len(cell.Runs) != 1 {
			t.Fatalf("cell %s has %d runs", cell.Name, len(cell.Runs))
		}
		r := cell.Runs[0]
		var workload float64
		for _, p := range r.Phases {
			if p.Name == "workload" {
				workload = p.Seconds
			}
		}
		switch cell.Name {
		case "claims-unsafe":
			if r.StoppedEarlyAt == 0 || workload >= 3 {
				t.Errorf("the unsafe cell ran its workload %g s and did not stop early", workload)
			}
		case "claims-safe":
			if r.StoppedEarlyAt != 0 || workload < 3 {
				t.Errorf("the safe cell stopped at %d after %g s of its 3 s", r.StoppedEarlyAt, workload)
			}
		}
		if r.Status != "invalid" {
			t.Errorf("cell %s: run %s", cell.Name, r.Status)
		}
	}
}

// lockstorm run --stop-after-violation 1s on three in-memory mutexes with
// a 30-s time limit ends well before 30 s, invalid (exit 1), and its page
// and reproduce line say that it stopped early and how.
func TestRunStopsAfterAViolationEndToEnd(t *testing.T) {
	st := t.TempDir()
	begin := time.Now()
	code, out, errOut := lockstorm(t, "run", "--target", "inmemory", "--nodes", "3", "--time-limit", "30s",
		"--stop-after-violation", "1s", "--store", st, "--quiet")
	if took := time.Since(begin); took > 12*time.Second {
		t.Errorf("the run took %s of its 30 s", took)
	}
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitInvalid, out, errOut)
	}
	results, _ := filepath.Glob(filepath.Join(st, "*", "*", store.ResultsFile))
	if len(results) != 1 {
		t.Fatalf("results: %v", results)
	}
	res, err := store.ReadRunResult(filepath.Dir(results[0]))
	if err != nil {
		t.Fatal(err)
	}
	if res.StoppedEarlyAt <= 0 || !strings.Contains(res.Command, "--stop-after-violation 1s") {
		t.Errorf("stopped at %d, reproduce %q", res.StoppedEarlyAt, res.Command)
	}
	page, err := os.ReadFile(filepath.Join(filepath.Dir(results[0]), store.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"The workload was stopped early at", "Where the time went: setup"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the run page does not say %q", want)
		}
	}
}
