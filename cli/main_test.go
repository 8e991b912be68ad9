package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/store"
)

// lockstorm runs the CLI in process and returns its exit code and output.
func lockstorm(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRunInMemoryAcrossThreeNodesIsInvalidAndExplained(t *testing.T) {
	st := t.TempDir()
	code, out, errOut := lockstorm(t, "run", "--target", "inmemory", "--nodes", "3", "--time-limit", "3s", "--store", st, "--quiet")
	if code != exitInvalid {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	res, err := store.ReadRunResult(filepath.Join(st, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "invalid" || !strings.Contains(res.Summary, "while process") {
		t.Errorf("results.json does not explain the overlap: %s: %s", res.Status, res.Summary)
	}
	for _, name := range []string{store.HistoryFile, store.IndexFile, store.LinearizabilityFile, store.LogFile} {
		if _, err := os.Stat(filepath.Join(st, "latest", name)); err != nil {
			t.Errorf("run directory lacks %s", name)
		}
	}
	// Re-checking the run directory gives the same verdict and exit code.
	if code, out, _ := lockstorm(t, "check", filepath.Join(st, "latest")); code != exitInvalid || !strings.HasPrefix(out, "INVALID") {
		t.Errorf("check of the run: exit %d\n%s", code, out)
	}
}

func TestRunInMemoryOnOneNodeIsValid(t *testing.T) {
	st := t.TempDir()
	code, out, errOut := lockstorm(t, "run", "--target", "inmemory", "--nodes", "1", "--time-limit", "3s", "--store", st, "--quiet", "--seed", "3")
	if code != exitValid {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "--seed 3") {
		t.Errorf("the reproduce line does not carry the seed:\n%s", out)
	}
}

func TestCheckExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	valid := write("v.jsonl", `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}
{"index":1,"time":1,"process":0,"type":"ok","f":"acquire","key":"k"}
{"index":2,"time":2,"process":0,"type":"invoke","f":"release","key":"k"}
{"index":3,"time":3,"process":0,"type":"ok","f":"release","key":"k"}
`)
	invalid := write("i.jsonl", `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}
{"index":1,"time":1,"process":0,"type":"ok","f":"acquire","key":"k"}
{"index":2,"time":2,"process":1,"type":"invoke","f":"acquire","key":"k"}
{"index":3,"time":3,"process":1,"type":"ok","f":"acquire","key":"k"}
`)
	malformed := write("m.jsonl", `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}
{"index":1,"time":1,"process":0,"type":"done","f":"acquire","key":"k"}
`)
	cases := []struct {
		path string
		code int
		want string
	}{
		{valid, exitValid, "VALID"},
		{invalid, exitInvalid, "INVALID"},
		{malformed, exitUsage, "m.jsonl:2: unknown type"},
		{filepath.Join(dir, "missing.jsonl"), exitUsage, "missing.jsonl"},
	}
	for _, c := range cases {
		code, out, errOut := lockstorm(t, "check", c.path)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("check %s: exit %d, want %d with %q\n%s%s", filepath.Base(c.path), code, c.code, c.want, out, errOut)
		}
	}
}

func TestUsageErrorsExit3AndListValidNames(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--target", "redix"}, `unknown target "redix" (valid: `},
		{[]string{"run", "--target", "inmemory", "--nemesis", "pauze"}, `unknown nemesis "pauze" (valid: `},
		{[]string{"run", "--target", "inmemory", "--workload", "mutx"}, `unknown workload "mutx"`},
		{[]string{"run"}, "--target is required"},
		{[]string{"run", "--target", "inmemory", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"run", "--target", "inmemory", "--opt", "novalue"}, `--opt "novalue": want name=value`},
		{[]string{"run", "--target", "inmemory", "--hold", "soon"}, `invalid argument "soon" for "--hold" flag: want a duration such as 500ms, or auto`},
		{[]string{"run", "--target", "inmemory", "--hold", "-1s"}, `"--hold" flag: -1s must not be negative`},
		{[]string{"run", "--target", "inmemory", "--opt", "pause.mod=holder"}, `--opt pause.mod: unknown option (options of pause: pause.duration, pause.mode)`},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"check"}, "check takes one PATH"},
	}
	for _, c := range cases {
		code, out, errOut := lockstorm(t, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want 3 with %q\nstdout: %s\nstderr: %s", c.args, code, c.want, out, errOut)
		}
	}
}

func TestCampaignFileWithTypoExits3NamingFieldAndLine(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(f, []byte("name: x\ncells:\n  - target: inmemory\n    time-limt: 5s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := lockstorm(t, "campaign", f)
	if code != exitUsage || !strings.Contains(errOut, `c.yaml:4: unknown field "time-limt"`) {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
}

func TestListCommandsShowEachEntrysOptions(t *testing.T) {
	_, out, _ := lockstorm(t, "nemeses")
	if !strings.Contains(out, "--opt kill.mode, kill.restart-delay\n") {
		t.Errorf("nemeses does not list kill's options:\n%s", out)
	}
	_, out, _ = lockstorm(t, "targets")
	if !strings.Contains(out, "--opt zookeeper.tick, zookeeper.session-timeout\n") {
		t.Errorf("targets does not list zookeeper's options:\n%s", out)
	}
}

func TestListCommandsDescribeEveryEntry(t *testing.T) {
	for _, what := range []string{"targets", "workloads", "nemeses"} {
		code, out, _ := lockstorm(t, what)
		if code != 0 {
			t.Fatalf("%s: exit %d", what, code)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "--opt ") {
				continue // the options of the entry above
			}
			if len(strings.Fields(line)) < 3 {
				t.Errorf("%s: line without a description: %q", what, line)
			}
		}
	}
}

// results.json holds the resolved plan, --wait and the schedule included,
// and running its reproduce line gives the same plan.
func TestResultsJSONCarriesThePlanAndReproducesIt(t *testing.T) {
	st := t.TempDir()
	lockstorm(t, "run", "--target", "inmemory", "--nodes", "1", "--nemesis", "client-pause", "--nemesis-interval", "1s",
		"--time-limit", "3s", "--store", st, "--quiet", "--seed", "11", "--wait", "1500ms")
	b, err := os.ReadFile(filepath.Join(st, "latest", store.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	var res store.RunResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	p := res.Plan
	if p.Seed != 11 || p.Schedule.Seed != 11 || len(p.Schedule.Events) == 0 {
		t.Errorf("seed %d / schedule %+v", p.Seed, p.Schedule)
	}
	if p.Wait != 1500*time.Millisecond || !strings.Contains(res.Command, " --wait 1.5s ") {
		t.Errorf("wait %s, command %q; want 1.5s recorded", p.Wait, res.Command)
	}
	if p.OpTimeout != 6500*time.Millisecond || p.TTL != 2*time.Second || p.Lease != 0 || len(p.Nodes) != 1 {
		t.Errorf("plan not resolved: %+v", p)
	}
	// --hold was not given: the in-memory lock never expires, so the
	// default is the short critical section, recorded as a figure.
	if p.Hold != 20*time.Millisecond || !p.HoldAuto || !strings.Contains(res.Command, " --hold 20ms ") {
		t.Errorf("default hold %s, command %q; want 20ms written out", p.Hold, res.Command)
	}
	// The reproduce line gives the same plan, and so the same schedule.
	st2 := t.TempDir()
	args := strings.Fields(strings.TrimPrefix(res.Command, "lockstorm "))
	lockstorm(t, append(args, "--store", st2, "--quiet")...)
	res2, err := store.ReadRunResult(filepath.Join(st2, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	p2 := res2.Plan
	p2.HoldAuto = p.HoldAuto // the reproduce line gives the hold as a figure
	a, _ := json.Marshal(p)
	b2, _ := json.Marshal(p2)
	if string(a) != string(b2) {
		t.Errorf("the reproduce line gave another plan:\n%s\n%s", a, b2)
	}
}
