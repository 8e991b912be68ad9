//go:build linux

package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/reports/reporttest"
	"github.com/lockstorm/lockstorm/store"
)

// TestBrowserRealRunPages runs the in-memory lock for real, invalid on three
// nodes and valid on one, and opens each run's page in headless Chromium:
// no script errors, the verdict shown, one timeline lane per client process,
// and every anomaly linked.
func TestBrowserRealRunPages(t *testing.T) {
	bin := reporttest.Chromium(t)
	art := reporttest.Artifacts(t)
	for _, c := range []struct {
		nodes  string
		status string
	}{{"3", "invalid"}, {"1", "valid"}} {
		t.Run("inmemory-nodes-"+c.nodes, func(t *testing.T) {
			st := t.TempDir()
			lockstorm(t, "run", "--target", "inmemory", "--nodes", c.nodes, "--time-limit", "3s", "--store", st, "--quiet", "--seed", "5")
			dir := filepath.Join(st, "latest")
			res, err := store.ReadRunResult(dir)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Status) != c.status {
				t.Fatalf("run verdict %s, want %s", res.Status, c.status)
			}
			dom := reporttest.OpenPage(t, bin, filepath.Join(dir, store.IndexFile), filepath.Join(art, "real-inmemory-"+c.nodes+".png"))
			if !strings.Contains(dom, `class="banner `+c.status+`"`) {
				t.Errorf("the page does not show the verdict %s", c.status)
			}
			h, err := history.ReadFile(filepath.Join(dir, store.HistoryFile))
			if err != nil {
				t.Fatal(err)
			}
			procs := map[int]bool{}
			for _, op := range h {
				if !op.IsNemesis() {
					procs[op.Process] = true
				}
			}
			if n := reporttest.CountLanes(t, dom); n != len(procs) {
				t.Errorf("timeline has %d lanes, want one per client process (%d)", n, len(procs))
			}
			reporttest.AssertAnchorsResolve(t, dom)
			anomalies := 0
			for _, r := range res.Results {
				anomalies += len(r.Anomalies)
			}
			if c.status == string(checker.Invalid) && (anomalies == 0 || !strings.Contains(dom, `href="#incident-1"`)) {
				t.Errorf("an invalid run's page must link its incidents (%d anomalies)", anomalies)
			}
		})
	}
}
