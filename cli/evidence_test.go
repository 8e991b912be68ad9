package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/store"
)

// writeCampaign writes a campaign file into a fresh directory and returns
// its path.
func writeCampaign(t *testing.T, body string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// A nemesis asked for with a time limit that ends before the first fault
// could start is refused before anything starts, in a run and in a
// campaign cell (issue 27: the cell passed as "safe, as expected" with an
// empty schedule). The target is in containers, yet no Docker is needed:
// the refusal comes first.
func TestSettingsThatCannotScheduleAFaultAreRefusedUpFront(t *testing.T) {
	st := t.TempDir()
	code, _, errOut := lockstorm(t, "run", "--target", "redis", "--nemesis", "client-pause", "--time-limit", "2s", "--store", st)
	want := "--time-limit 2s leaves no room for a fault: with nemesis-interval 10s the first fault starts 5s to 6s into the run"
	if code != exitUsage || !strings.Contains(errOut, want) {
		t.Errorf("run: exit %d, stderr %s", code, errOut)
	}
	f := writeCampaign(t, "name: x\ncells:\n  - {name: long, target: redis, nemesis: client-pause, expect: safe}\n  - {name: short, target: redis, nemesis: client-pause, time-limit: 2s, expect: safe}\n")
	code, out, errOut := lockstorm(t, "campaign", "--store", st, f)
	want = `c.yaml:4: cell "short": time-limit: 2s leaves no room for a fault`
	if code != exitUsage || !strings.Contains(errOut, want) {
		t.Errorf("campaign: exit %d, want 3 with %q\nstdout: %s\nstderr: %s", code, want, out, errOut)
	}
	if ents, _ := os.ReadDir(st); len(ents) != 0 {
		t.Errorf("the refused commands wrote into the store: %v", ents)
	}
}

// A run whose nemesis does not apply to its target records why no fault
// struck, says it under the verdict, and warns on its page.
func TestARunWhoseNemesisNeverStruckSaysSo(t *testing.T) {
	st := t.TempDir()
	code, out, errOut := lockstorm(t, "run", "--target", "inmemory", "--nodes", "1", "--nemesis", "pause", "--time-limit", "1s",
		"--nemesis-interval", "100ms", "--seed", "1", "--store", st, "--quiet")
	if code != exitValid {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	why := "no fault was scheduled: nemesis pause: not applicable: pause acts on server nodes, and target inmemory runs in process"
	if !strings.Contains(out, "WARNING: no fault struck ("+why+"); this run is no evidence of safety under pause") {
		t.Errorf("the terminal does not say that no fault struck:\n%s", out)
	}
	res, err := store.ReadRunResult(filepath.Join(st, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	if res.NoFaults != why {
		t.Errorf("results.json no_faults = %q, want %q", res.NoFaults, why)
	}
	page, err := os.ReadFile(filepath.Join(st, "latest", store.IndexFile))
	if err != nil || !strings.Contains(string(page), `id="no-faults"`) {
		t.Errorf("the run page does not warn: %v", err)
	}
	// check of the run directory says it again.
	if code, out, _ := lockstorm(t, "check", filepath.Join(st, "latest")); code != exitValid || !strings.Contains(out, "WARNING: no fault struck") {
		t.Errorf("check: exit %d\n%s", code, out)
	}
}

// The campaign cell of issue 27 whose nemesis does not apply to its
// target is not met, and the campaign exits 2.
func TestCampaignCellWhoseNemesisNeverStruckFails(t *testing.T) {
	f := writeCampaign(t, "name: x\ncells:\n  - {target: inmemory, nodes: 1, nemesis: pause, time-limit: 1s, nemesis-interval: 100ms, expect: safe}\n")
	code, out, errOut := lockstorm(t, "campaign", "--quiet", "--store", t.TempDir(), f)
	if code != 2 || !strings.Contains(out, "FAIL inmemory-mutex-pause") || !strings.Contains(out, "expected safe under pause, but no fault struck in 1 of 1 runs") {
		t.Errorf("exit %d, want 2\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
