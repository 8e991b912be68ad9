package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

// shrink end to end on the in-memory lock across three nodes, which breaks
// with no fault at all: the run's three client-pause faults shrink to
// none, the schedule file says so, shrink.json keeps every candidate with
// its replays, and the printed command runs the shrunk schedule and
// breaks the lock again. (Shrinking that depends on the faults needs a
// lock that only faults break: the Docker targets; the search itself is
// tested with fake oracles in package shrink.)
func TestShrinkInMemoryEndToEnd(t *testing.T) {
	st := t.TempDir()
	code, out, errOut := lockstorm(t, "run", "--target", "inmemory", "--nodes", "3", "--nemesis", "client-pause", "--time-limit", "3s",
		"--nemesis-interval", "1s", "--seed", "4", "--store", st, "--quiet")
	if code != exitInvalid {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	run, err := filepath.EvalSymlinks(filepath.Join(st, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	orig, err := store.ReadRunResult(run)
	if err != nil || len(orig.Plan.Schedule.Events) == 0 {
		t.Fatalf("%v: schedule %+v", err, orig.Plan.Schedule)
	}
	code, out, errOut = lockstorm(t, "shrink", filepath.Join(st, "latest"), "--replays", "2", "--quiet")
	if code != exitValid {
		t.Fatalf("shrink: exit %d\n%s\n%s", code, out, errOut)
	}
	file := filepath.Join(run, ShrunkFile)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := plan.ParseSchedule(b)
	if err != nil || len(s.Events) != 0 || s.Seed != 4 {
		t.Fatalf("shrunk schedule %s: %v", b, err)
	}
	if !strings.Contains(out, "SHRUNK: 0 of 3 faults") || !strings.Contains(out, "replay: lockstorm run --target inmemory") ||
		!strings.Contains(out, "--schedule "+file+" --seed 4") {
		t.Fatalf("output:\n%s", out)
	}
	var sr store.ShrinkResult
	b, err = os.ReadFile(filepath.Join(run, ShrinkDir, "shrink.json"))
	if err != nil || json.Unmarshal(b, &sr) != nil {
		t.Fatalf("shrink.json: %v", err)
	}
	// The original, the empty schedule, and the empty schedule's second
	// round: 4 of 4 replays.
	if len(sr.Result.Steps) != 3 || sr.Result.Steps[2].Phase != "confirm" || !sr.Result.Confirmed || len(sr.Trials[1]) != 2 || len(sr.Trials[2]) != 2 || len(sr.Trials[3]) != 2 ||
		sr.Threshold != 2.0/3 || sr.File != file || sr.Broke() != 4 || sr.Of() != 4 {
		t.Fatalf("shrink.json: %s", b)
	}
	if !strings.Contains(out, "in 4 of 4 replays (100%, confirmed by a second round)") {
		t.Fatalf("output:\n%s", out)
	}
	// The run's page, written again at the end, links the shrunk schedule.
	page, err := os.ReadFile(filepath.Join(run, "index.html"))
	if err != nil || !strings.Contains(string(page), `id="shrunk"`) || !strings.Contains(string(page), `href="shrunk-schedule.json"`) ||
		!strings.Contains(string(page), "no fault at all") {
		t.Errorf("run page after shrink: %v", err)
	}
	for _, tr := range sr.Trials[2] {
		if !tr.Broke() {
			t.Errorf("replay %+v of the empty schedule did not break", tr)
		}
		res, err := store.ReadRunResult(tr.Dir)
		if err != nil || res.Plan.ScheduleFile == "" || len(res.Plan.Schedule.Events) != 0 {
			t.Errorf("replay %s: %v, plan %+v", tr.Dir, err, res.Plan)
		}
	}
	// The printed command runs it again.
	line := out[strings.Index(out, "replay: lockstorm ")+len("replay: lockstorm "):]
	args := strings.Fields(strings.TrimSpace(strings.SplitN(line, "\n", 2)[0]))
	st2 := t.TempDir()
	if code, out, errOut := lockstorm(t, append(args, "--store", st2, "--quiet")...); code != exitInvalid {
		t.Fatalf("replay command: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestShrinkRefusesWhatItCannotShrink(t *testing.T) {
	st := t.TempDir()
	if code, out, errOut := lockstorm(t, "run", "--target", "inmemory", "--nodes", "1", "--time-limit", "1s", "--store", st, "--quiet"); code != exitValid {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"shrink", filepath.Join(st, "latest")}, "is valid: only a run that broke the lock can be shrunk"},
		{[]string{"shrink", filepath.Join(st, "nothing")}, "shrink: read results"},
		{[]string{"shrink", filepath.Join(st, "latest"), "--threshold", "3/2"}, "--threshold \"3/2\": must be above 0 and at most 1"},
		{[]string{"shrink", filepath.Join(st, "latest"), "--replays", "0"}, "--replays 0 must be 1..100"},
		{[]string{"shrink"}, "accepts 1 arg"},
	} {
		code, _, errOut := lockstorm(t, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want 3 saying %q\n%s", c.args, code, c.want, errOut)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"2/3": 2.0 / 3, "1": 1, "0.5": 0.5, "3/3": 1} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("%s: %g, %v", in, got, err)
		}
	}
	for _, in := range []string{"0", "0/3", "4/3", "x", "1/0", "-1", "NaN"} {
		if _, err := parseRate(in); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}
