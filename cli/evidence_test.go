package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
