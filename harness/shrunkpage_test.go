package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

// A run that lockstorm shrink has shrunk (RUN/shrink/shrink.json) gets,
// when its page is written again (lockstorm check RUN), a section with
// the shrunk schedule's faults, its reproduction rate, a link to the
// schedule's file and the command that replays it. A run never shrunk
// has none.
func TestRunPageLinksTheShrunkSchedule(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "redis-mutex-client-pause", "20260101T000000.000")
	if err := os.MkdirAll(filepath.Join(dir, store.ShrinkDir), 0o755); err != nil {
		t.Fatal(err)
	}
	ev := func(start time.Duration) plan.Event {
		return plan.Event{Nemesis: "client-pause", Start: start, Duration: time.Second, Params: map[string]string{"stall": "1s"}}
	}
	res := store.RunResult{ID: filepath.Base(dir), Cell: "redis-mutex-client-pause", Status: checker.Invalid, FirstViolation: -1,
		Plan: plan.Plan{Target: "redis", Workload: "mutex", Nemeses: []string{"client-pause"}, Seed: 7,
			Schedule: plan.Schedule{Seed: 7, Events: []plan.Event{ev(time.Second), ev(4 * time.Second), ev(9 * time.Second)}}}}
	if err := store.WriteJSON(filepath.Join(dir, store.ResultsFile), res); err != nil {
		t.Fatal(err)
	}
	hist := `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"lock-a"}` + "\n" +
		`{"index":1,"time":5000000,"process":0,"type":"ok","f":"acquire","key":"lock-a"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, store.HistoryFile), []byte(hist), 0o644); err != nil {
		t.Fatal(err)
	}
	page := func() string {
		t.Helper()
		if _, err := Recheck(dir, 0); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, store.IndexFile))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if p := page(); strings.Contains(p, `id="shrunk"`) {
		t.Fatal("a run never shrunk shows a shrunk schedule")
	}
	file := filepath.Join(dir, store.ShrunkFile)
	shrunk := plan.Schedule{Seed: 7, Events: []plan.Event{ev(4 * time.Second)}}
	sr := store.ShrinkResult{Run: dir, Threshold: 2.0 / 3, Replays: 3, Faults: 3, File: file,
		Command: "lockstorm run --target redis --nemesis client-pause --schedule " + file + " --seed 7",
		Result:  store.ShrinkFound{Schedule: shrunk, Rate: 1}}
	if err := store.WriteJSON(file, shrunk); err != nil {
		t.Fatal(err)
	}
	if err := store.WriteJSON(filepath.Join(dir, store.ShrinkDir, store.ShrinkFile), sr); err != nil {
		t.Fatal(err)
	}
	p := page()
	for _, want := range []string{`id="shrunk"`, "found 1 of the run's 3 faults enough to break the lock",
		`<span class="mono">client-pause at 4.000s for 1.000s (stall=1s)</span>`,
		"<b>3 of 3</b> replays", `href="shrunk-schedule.json">shrunk-schedule.json</a>`, `href="shrink/shrink.json"`,
		"--schedule " + file + " --seed 7</pre>"} {
		if !strings.Contains(p, want) {
			t.Errorf("run page lacks %s\n%s", want, p[strings.Index(p, `id="shrunk"`):][:900])
		}
	}
	// A shrink that found nothing says why.
	sr.File, sr.Command, sr.Error = "", "", "the run's schedule does not break the lock: rate 0.33"
	if err := store.WriteJSON(filepath.Join(dir, store.ShrinkDir, store.ShrinkFile), sr); err != nil {
		t.Fatal(err)
	}
	if p := page(); !strings.Contains(p, "found no smaller schedule: the run&#39;s schedule does not break the lock") {
		t.Error("a failed shrink is not said on the run page")
	}
}
