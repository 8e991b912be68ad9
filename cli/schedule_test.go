package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/store"
)

// writeFile writes body to name in a new temporary directory.
func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// A schedule given with --schedule is the one that runs: on the in-memory
// lock (one node, correct) under client-pause, the run applies exactly the
// file's fault, records the file's schedule in results.json, takes the
// nemeses and the seed from it, and its reproduce line carries
// --schedule; the run's results.json, given back, replays the same
// schedule.
func TestRunScheduleRunsTheGivenScheduleInMemory(t *testing.T) {
	f := writeFile(t, "one.json", `{"seed": 21, "events": [
  {"nemesis": "client-pause", "start": 1000000000, "duration": 700000000, "params": {"stall": "700ms"}}]}`)
	st := t.TempDir()
	code, out, errOut := lockstorm(t, "run", "--target", "inmemory", "--nodes", "1", "--time-limit", "3s", "--store", st, "--quiet", "--schedule", f)
	if code != exitValid {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	res, err := store.ReadRunResult(filepath.Join(st, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	s := res.Plan.Schedule
	if s.Seed != 21 || len(s.Events) != 1 || s.Events[0].Start != time.Second || s.Events[0].Duration != 700*time.Millisecond {
		t.Fatalf("schedule %+v, want the file's", s)
	}
	if res.Plan.Seed != 21 || strings.Join(res.Plan.Nemeses, ",") != "client-pause" || res.Plan.ScheduleFile != f {
		t.Fatalf("plan seed %d, nemeses %v, file %q", res.Plan.Seed, res.Plan.Nemeses, res.Plan.ScheduleFile)
	}
	if !strings.Contains(res.Command, " --nemesis client-pause ") || !strings.Contains(res.Command, " --schedule "+f+" --seed 21") {
		t.Fatalf("command %s", res.Command)
	}
	h, err := history.ReadFile(filepath.Join(st, "latest", store.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	starts := 0
	for _, op := range h {
		if op.F == history.FStartPrefix+"client-pause" {
			starts++
		}
	}
	if starts != 1 {
		t.Fatalf("%d client-pause faults started, want the file's 1", starts)
	}
	// The run's own results.json gives the same schedule back.
	st2 := t.TempDir()
	code, out, errOut = lockstorm(t, "run", "--target", "inmemory", "--nodes", "1", "--time-limit", "3s", "--store", st2, "--quiet",
		"--schedule", filepath.Join(st, "latest", store.ResultsFile))
	if code != exitValid {
		t.Fatalf("replay: exit %d\n%s\n%s", code, out, errOut)
	}
	res2, err := store.ReadRunResult(filepath.Join(st2, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Plan.Schedule.Events) != 1 || res2.Plan.Schedule.Events[0].Start != time.Second || res2.Plan.Seed != 21 {
		t.Fatalf("replay's plan %+v", res2.Plan)
	}
}

// A schedule file the run cannot apply is refused with exit 3 before
// anything starts, naming the file and where in it.
func TestRunScheduleRefusesBadFilesNamingThem(t *testing.T) {
	for _, c := range []struct {
		name, body, args, want string
	}{
		{"syntax", "{\"seed\": 1,\n\"events\": [\n}", "", "bad.json: line 3: not JSON"},
		{"unknown nemesis", `{"seed": 1, "events": [{"nemesis": "pausе", "start": 1000000000, "duration": 1000000000}]}`, "",
			`--schedule bad.json: events[0].nemesis: unknown nemesis "pausе"`},
		{"not the run's", `{"seed": 1, "events": [{"nemesis": "client-pause", "start": 1000000000, "duration": 1000000000, "params": {"stall": "1s"}}]}`,
			"--nemesis client-crash", "events[0].nemesis: client-pause is not one of the run's nemeses (client-crash)"},
		{"past the limit", `{"seed": 1, "events": [{"nemesis": "client-crash", "start": 2000000000, "duration": 2000000000}]}`, "",
			"events[0].duration: the fault ends at 4s, after the time limit, 3s"},
		{"not applicable", `{"seed": 1, "events": [{"nemesis": "pause", "start": 1000000000, "duration": 1000000000}]}`, "",
			"events[0].nemesis: pause does not apply to target inmemory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			if err := os.WriteFile("bad.json", []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"run", "--target", "inmemory", "--nodes", "1", "--time-limit", "3s", "--store", dir, "--schedule", "bad.json"}, strings.Fields(c.args)...)
			code, out, errOut := lockstorm(t, args...)
			if code != exitUsage || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, want 3 saying %q\n%s\n%s", code, c.want, out, errOut)
			}
			if _, err := os.Stat(filepath.Join(dir, "latest")); err == nil {
				t.Fatal("a run started")
			}
		})
	}
	if code, _, errOut := lockstorm(t, "run", "--target", "inmemory", "--schedule", filepath.Join(t.TempDir(), "none.json")); code != exitUsage || !strings.Contains(errOut, "none.json") {
		t.Fatalf("missing file: exit %d\n%s", code, errOut)
	}
}

// A schedule file that is not a regular file is refused at once.
func TestRunScheduleRefusesAFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	code, _, errOut := lockstorm(t, "run", "--target", "inmemory", "--schedule", fifo)
	if code != exitUsage || !strings.Contains(errOut, "--schedule: "+fifo+": not a regular file (it is a FIFO)") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}
