package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/margin"
	"github.com/lockstorm/lockstorm/store"
)

// findMargin returns the one margin results.json under st.
func findMargin(t *testing.T, st string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(st, "margins", "*", "*", "results.json"))
	if len(files) != 1 {
		t.Fatalf("margin results: %v", files)
	}
	return files[0]
}

// readMargin reads the one margin results.json under st.
func readMargin(t *testing.T, st string) store.MarginResult {
	t.Helper()
	b, err := os.ReadFile(findMargin(t, st))
	if err != nil {
		t.Fatal(err)
	}
	var mr store.MarginResult
	if err := json.Unmarshal(b, &mr); err != nil {
		t.Fatal(err)
	}
	return mr
}

// margin end to end on the in-memory lock, whose breaking does not depend
// on the stall: on one node it never breaks, so the range has no
// boundary above; across three it always breaks, so none below. Both exit
// 2, say so, and write results.json with every step and its runs. (A
// margin with both ends needs a lock whose breaking depends on the
// magnitude: the Docker targets; the search itself is tested with fake
// oracles in package margin.)
func TestMarginInMemoryWithNoBoundaryInRange(t *testing.T) {
	args := []string{"margin", "--target", "inmemory", "--nemesis", "client-pause", "--vary", "client-pause.stall=200ms..2s",
		"--seeds", "2", "--time-limit", "1s", "--nemesis-interval", "1s", "--quiet"}
	st := t.TempDir()
	code, out, errOut := lockstorm(t, append(args, "--nodes", "1", "--store", st)...)
	if code != exitUnknown || !strings.Contains(out, "NO BOUNDARY for client-pause.stall in 200ms..2s: no boundary in range: the lock held in every run at 2s") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	mr := readMargin(t, st)
	page, err := os.ReadFile(filepath.Join(filepath.Dir(findMargin(t, st)), "index.html"))
	if err != nil || !strings.Contains(string(page), "It held every run up to 2 s of stall, the top of the range") ||
		!strings.Contains(string(page), `href="runs/inmemory-mutex-client-pause/`) {
		t.Errorf("margin page: %v\n%.2000s", err, page)
	}
	m := mr.Margin
	if m.Outcome != margin.AboveRange || m.Holds == nil || *m.Holds != 2*time.Second || m.Breaks != nil || len(m.Steps) != 2 {
		t.Fatalf("margin %+v", m)
	}
	for _, s := range m.Steps {
		if s.Runs != 2 || len(s.Trials) != 2 || s.Trials[0].Seed != 1 || s.Trials[1].Seed != 2 || s.Violations != 0 {
			t.Fatalf("step %+v", s)
		}
	}
	if mr.Vary.Option != "client-pause.stall" || mr.Vary.From != 200*time.Millisecond || !strings.HasPrefix(mr.Command, "lockstorm margin --target inmemory") ||
		!strings.Contains(mr.Command, "--vary client-pause.stall=200ms..2s --seeds 2") || mr.Plan.Hold != margin.DefaultHold ||
		!strings.Contains(mr.Command, "--hold 20ms") {
		t.Fatalf("results %+v", mr)
	}

	st = t.TempDir()
	code, out, errOut = lockstorm(t, append(args, "--nodes", "3", "--store", st)...)
	if code != exitUnknown || !strings.Contains(out, "the lock broke in every run at 200ms") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	m = readMargin(t, st).Margin
	if m.Outcome != margin.BelowRange || m.Breaks == nil || *m.Breaks != 200*time.Millisecond || len(m.Steps) != 1 {
		t.Fatalf("margin %+v", m)
	}
}

func TestMarginRefusesBadUsage(t *testing.T) {
	base := []string{"margin", "--target", "inmemory", "--nodes", "1", "--time-limit", "1s", "--nemesis-interval", "1s", "--store", t.TempDir()}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--nemesis", "client-pause", "--vary", "client-pause.stal=1s..2s"}, "no nemesis of the run (client-pause) has option client-pause.stal (their options: client-pause.stall)"},
		{[]string{"--nemesis", "client-crash", "--vary", "client-pause.stall=1s..2s"}, "no nemesis of the run (client-crash) has option client-pause.stall"},
		{[]string{"--nemesis", "client-pause", "--vary", "client-pause.stall=2s..1s"}, `--vary "client-pause.stall=2s..1s": TO 1s must be above FROM 2s`},
		{[]string{"--nemesis", "client-pause", "--vary", "client-pause.stall=0s..1s"}, "client-pause.stall takes no duration 0s"},
		{[]string{"--vary", "client-pause.stall=1s..2s"}, "--nemesis: a margin varies a fault of the run"},
		{[]string{"--nemesis", "client-pause", "--vary", "client-pause.stall=1s..2s", "--opt", "client-pause.stall=1s"}, "also given with --opt"},
		{[]string{"--nemesis", "client-pause", "--vary", "client-pause.stall=1s..2s", "--seeds", "0"}, "--seeds 0 must be 1..100"},
		{[]string{"--nemesis", "client-pause"}, `required flag(s) "vary" not set`},
	} {
		code, _, errOut := lockstorm(t, append(base, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want 3 saying %q\n%s", c.args, code, c.want, errOut)
		}
	}
}
