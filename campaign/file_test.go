package campaign

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/plan"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

const good = `name: t
defaults:
  time-limit: 9s
  ttl: 1s
  options: {pause.duration: 1s}
cells:
  - name: one
    target: inmemory
    nemesis: kill+pause
    nodes: 3
    expect: unsafe
    options: {kill.restart-delay: 2s}
  - target: inmemory
    nemesis: client-pause
    seeds: [5, 9]
matrix:
  - targets: [inmemory]
    workloads: [mutex]
    nemeses: [none, client-crash]
    repeats: 2
    expect: explore
`

func TestParseExpandsCellsAndMatrixWithInheritance(t *testing.T) {
	f, err := Parse([]byte(good), "good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells := f.Expand()
	var names []string
	for _, c := range cells {
		names = append(names, c.Name)
	}
	want := "one inmemory-mutex-client-pause inmemory-mutex-none inmemory-mutex-client-crash"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("cells = %s, want %s", got, want)
	}
	one := cells[0]
	if one.Plan.TimeLimit != 9*time.Second || one.Plan.TTL != time.Second || len(one.Plan.Nodes) != 3 {
		t.Errorf("cell one did not inherit: %+v", one.Plan)
	}
	if one.Plan.Options["pause.duration"] != "1s" || one.Plan.Options["kill.restart-delay"] != "2s" {
		t.Errorf("options not merged: %v", one.Plan.Options)
	}
	if one.Expect != store.ExpectUnsafe || cells[1].Expect != store.ExpectExplore {
		t.Errorf("expectations: %s, %s", one.Expect, cells[1].Expect)
	}
	if s := cells[1].Seeds; len(s) != 2 || s[0] != 5 || s[1] != 9 {
		t.Errorf("seeds = %v, want [5 9]", s)
	}
	if s := cells[2].Seeds; len(s) != 2 || s[0] != 1 || s[1] != 2 {
		t.Errorf("repeats 2 gave seeds %v, want [1 2]", s)
	}
	for i, c := range cells {
		if c.Index != i {
			t.Errorf("cell %s has index %d, want %d", c.Name, c.Index, i)
		}
	}
}

// A cell without a hold, or with hold: auto, leaves the choice to the run
// (harness.DefaultHold); a duration is kept as given.
func TestHoldIsAutoUnlessGiven(t *testing.T) {
	f, err := Parse([]byte("name: x\ncells:\n  - name: a\n    target: redis\n  - name: b\n    target: redis\n    hold: auto\n  - name: c\n    target: redis\n    hold: 0s\n"), "h.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells := f.Expand()
	want := []time.Duration{plan.HoldAuto, plan.HoldAuto, 0}
	for i, c := range cells {
		if c.Plan.Hold != want[i] {
			t.Errorf("cell %s: hold %s, want %s", c.Name, c.Plan.Hold, want[i])
		}
	}
}

func TestParseNamesFieldAndLineOfMistakes(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"typo in a field", "name: x\ncells:\n  - target: inmemory\n    time-limt: 5s\n", `bad.yaml:4: unknown field "time-limt"`},
		{"unknown target", "name: x\ncells:\n  - name: a\n    target: redix\n", `bad.yaml:3: cell "a": target: unknown target "redix" (valid: `},
		{"unknown nemesis", "name: x\ncells:\n  - target: inmemory\n    nemesis: pauze\n", `bad.yaml:3: cell "inmemory-mutex-pauze": nemesis: unknown nemesis "pauze"`},
		{"bad expectation", "name: x\ncells:\n  - target: inmemory\n    expect: maybe\n", `expect: "maybe" is not one of safe, unsafe, explore`},
		{"bad duration", "name: x\ncells:\n  - target: inmemory\n    ttl: soon\n", `bad.yaml:4: "soon" is not a duration`},
		{"bad hold", "name: x\ncells:\n  - target: inmemory\n    hold: -1s\n", `bad.yaml:4: "-1s" is not auto or a duration`},
		{"duplicate names", "name: x\ncells:\n  - target: inmemory\n  - target: inmemory\n", `bad.yaml:4: cell name "inmemory-mutex-none" is used twice (first at line 3)`},
		{"nothing to run", "name: x\n", "nothing to run"},
		{"misspelt option", "name: x\ndefaults:\n  options: {pause.mod: holder}\ncells:\n  - name: a\n    target: inmemory\n", `bad.yaml:2: defaults: options: pause.mod: unknown option (options of pause: pause.duration, pause.mode)`},
		{"misspelt option of a cell", "name: x\ncells:\n  - name: a\n    target: inmemory\n    options: {pause.mod: holder}\n", `bad.yaml:3: cell "a": options: pause.mod: unknown option (options of pause: pause.duration, pause.mode)`},
		{"matrix typo", "name: x\nmatrix:\n  - targets: [inmemory]\n    workloads: [mutx]\n", `bad.yaml:3: cell "inmemory-mutx-none": workload: unknown workload "mutx"`},
		{"unknown judge", "name: x\ncells:\n  - target: inmemory\n    judge: [fencin]\n", `judge: "fencin" is not a checker that workload mutex runs`},
		{"speedup of a mutex", "name: x\ncells:\n  - target: inmemory\n    speedup: {atomic: 2}\n", `speedup: only a cell of workload contention, variant scaling`},
		{"speedup of the lock", "name: x\ncells:\n  - target: inmemory\n    workload: contention\n    speedup: {lock: 2}\n", `speedup: "lock" is not a lock-free way (valid: optimistic, atomic)`},
		{"speedup not a ratio", "name: x\ncells:\n  - target: inmemory\n    workload: contention\n    speedup: {atomic: 0}\n", `speedup: atomic: 0 must be a ratio above 0`},
		{"sweep too short", "name: x\ncells:\n  - name: a\n    target: inmemory\n    workload: contention\n    time-limit: 3s\n", `bad.yaml:3: cell "a": time-limit: the scaling sweep has 18 phases`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.in), "bad.yaml")
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrBadFile) {
				t.Errorf("%v does not wrap ErrBadFile", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestEmbeddedCampaignsParse(t *testing.T) {
	for _, load := range []func() (*File, error){Default, Smoke} {
		f, err := load()
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Expand()) == 0 {
			t.Errorf("campaign %s has no cells", f.Name)
		}
	}
}

func TestShardsPartitionTheCells(t *testing.T) {
	f, err := Parse([]byte(good), "good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells := f.Expand()
	seen := map[string]int{}
	for i := 1; i <= 3; i++ {
		part, err := Shard(cells, i, 3)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Shard(cells, i, 3)
		for k := range part {
			seen[part[k].Name]++
			if again[k].Name != part[k].Name {
				t.Errorf("shard %d/3 is not deterministic", i)
			}
		}
	}
	for _, c := range cells {
		if seen[c.Name] != 1 {
			t.Errorf("cell %s is in %d shards, want 1", c.Name, seen[c.Name])
		}
	}
	if _, _, err := ParseShard("3/2"); err == nil {
		t.Error("ParseShard accepted 3/2")
	}
}

func TestSummarizeAndExitCodes(t *testing.T) {
	run := func(s checker.Status, ttfv int64) store.CellRun {
		return store.CellRun{Status: s, FirstViolation: ttfv, Ops: 100, Duration: 10 * time.Second}
	}
	cases := []struct {
		name   string
		expect store.Expectation
		runs   []store.CellRun
		met    bool
		code   int
	}{
		{"safe and valid", store.ExpectSafe, []store.CellRun{run(checker.Valid, -1)}, true, ExitMet},
		{"safe but violated", store.ExpectSafe, []store.CellRun{run(checker.Valid, -1), run(checker.Invalid, 5)}, false, ExitViolated},
		{"safe but unknown", store.ExpectSafe, []store.CellRun{run(checker.Unknown, -1)}, false, ExitUnmet},
		{"unsafe reproduced once", store.ExpectUnsafe, []store.CellRun{run(checker.Valid, -1), run(checker.Invalid, 3e9)}, true, ExitMet},
		{"unsafe not reproduced", store.ExpectUnsafe, []store.CellRun{run(checker.Valid, -1)}, false, ExitUnmet},
		{"explore anything", store.ExpectExplore, []store.CellRun{run(checker.Invalid, 1)}, true, ExitMet},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cr := store.CellResult{Name: c.name, Expect: c.expect, Runs: c.runs}
			Summarize(&cr)
			if cr.Met != c.met {
				t.Errorf("met = %v (%s), want %v", cr.Met, cr.Outcome, c.met)
			}
			if got := ExitCode([]store.CellResult{cr}, false); got != c.code {
				t.Errorf("exit code %d, want %d", got, c.code)
			}
		})
	}
	cr := store.CellResult{Expect: store.ExpectUnsafe, Runs: []store.CellRun{run(checker.Invalid, 3e9), run(checker.Invalid, 1e9), run(checker.Valid, -1), run(checker.Invalid, 2e9)}}
	Summarize(&cr)
	if cr.DetectionRate != 0.75 || cr.TTFVMin != 1e9 || cr.TTFVMax != 3e9 || cr.TTFVMedian != 2e9 {
		t.Errorf("stats: rate %v ttfv %d/%d/%d", cr.DetectionRate, cr.TTFVMin, cr.TTFVMedian, cr.TTFVMax)
	}
	// Time to first violation counts from the workload's start: a run whose
	// setup took 9 s and that broke 17 s after its start broke 8 s in.
	late := run(checker.Invalid, 17e9)
	late.WorkloadStart = 9e9
	cr = store.CellResult{Expect: store.ExpectUnsafe, Runs: []store.CellRun{late}}
	Summarize(&cr)
	if cr.TTFVMin != 8e9 || cr.TTFVMedian != 8e9 {
		t.Errorf("a violation at 17 s of a workload that began at 9 s: ttfv %d/%d, want 8 s", cr.TTFVMin, cr.TTFVMedian)
	}
	// A contention sweep's speedup is judged on the median of its runs.
	ratio := func(atomic float64) store.CellRun {
		r := run(checker.Valid, -1)
		r.Ratios, r.RatioClients = map[string]float64{"atomic": atomic, "optimistic": 1.1}, 16
		return r
	}
	for _, c := range []struct {
		runs []store.CellRun
		met  bool
		word string
	}{
		{[]store.CellRun{ratio(2), ratio(9), ratio(8)}, true, "atomic 8.0× the lock (at least 3×)"},
		{[]store.CellRun{ratio(2), ratio(9), ratio(2.5)}, false, "atomic 2.5× the lock (short of 3×)"},
		{[]store.CellRun{ratio(9), run(checker.Valid, -1)}, false, "atomic: 1 of 2 runs measured it"},
	} {
		cr := store.CellResult{Expect: store.ExpectSafe, Runs: c.runs, Speedup: map[string]float64{"atomic": 3}}
		Summarize(&cr)
		if cr.Met != c.met || !strings.Contains(cr.Outcome, c.word) {
			t.Errorf("speedup: met %v %q, want %v with %q", cr.Met, cr.Outcome, c.met, c.word)
		}
	}
	if ExitCode([]store.CellResult{{Met: true}}, true) != ExitInfraFail {
		t.Error("an infrastructure failure with all expectations met must exit 4")
	}
}

func TestJUnitHasOneCasePerCellAndFailsUnmet(t *testing.T) {
	res := store.CampaignResult{Name: "t", Cells: []store.CellResult{
		{Name: "a", Target: "redis", Met: true, Expect: store.ExpectSafe, Status: checker.Valid},
		{Name: "b<&>", Target: "etcd", Met: false, Expect: store.ExpectSafe, Status: checker.Invalid, Outcome: "expected safe, but 1 of 1 runs found a violation"},
	}}
	b, err := JUnit(res)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Count(s, "<testcase ") != 2 || strings.Count(s, "<failure ") != 1 {
		t.Errorf("junit:\n%s", s)
	}
	if !strings.Contains(s, `type="violation"`) || !strings.Contains(s, "b&lt;&amp;&gt;") {
		t.Errorf("junit does not mark or escape the failing cell:\n%s", s)
	}
}

func TestExampleCampaignsParse(t *testing.T) {
	files, err := filepath.Glob("../examples/campaigns/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example campaigns found: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b, name); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestIndeterminateOpsAreCountedFromTheStatsChecker(t *testing.T) {
	h := history.History{
		{Process: 0, Type: history.Invoke, F: history.FAcquire, Key: "k"},
		{Process: 0, Type: history.Info, F: history.FAcquire, Key: "k", Error: "timeout"},
		{Process: 1, Type: history.Invoke, F: history.FRelease, Key: "k"},
		{Process: 1, Type: history.Info, F: history.FRelease, Key: "k", Error: "client crashed"},
		{Process: 2, Type: history.Invoke, F: history.FAcquire, Key: "k"},
		{Process: 2, Type: history.Ok, F: history.FAcquire, Key: "k"},
	}
	for i := range h {
		h[i].Index, h[i].Time = i, int64(i)
	}
	if got := statsInfo(checker.Stats(h).Details); got != 2 {
		t.Errorf("statsInfo = %d, want 2 indeterminate ops", got)
	}
}

func TestSelectKeepsMatchingCellsInOrderAndNamesTheRest(t *testing.T) {
	cells := []Cell{{Name: "etcd-pause"}, {Name: "nats-kv-no-fault"}, {Name: "etcd-pause-fenced"}, {Name: "nats-kv-kill"}}
	got, err := Select(cells, "nats-*, etcd-pause")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range got {
		names = append(names, c.Name)
	}
	if strings.Join(names, " ") != "etcd-pause nats-kv-no-fault nats-kv-kill" {
		t.Errorf("selected %v", names)
	}
	if _, err := Select(cells, "redis-*"); err == nil || !strings.Contains(err.Error(), "matches no cell") || !strings.Contains(err.Error(), "nats-kv-kill") {
		t.Errorf("a pattern that matches nothing: %v", err)
	}
	if _, err := Select(cells, "[x"); err == nil || !strings.Contains(err.Error(), `"[x"`) {
		t.Errorf("a malformed pattern: %v", err)
	}
	if _, err := Select(cells, " , "); err == nil {
		t.Error("an empty pattern list was accepted")
	}
}

// Listed seeds run first; repeats beyond them take the smallest seeds not
// listed, so that no seed runs twice.
func TestCellSeedsFillRepeatsWithoutRepeatingASeed(t *testing.T) {
	for _, tc := range []struct {
		listed  []int64
		repeats int
		want    []int64
	}{
		{nil, 3, []int64{1, 2, 3}},
		{[]int64{5, 9}, 1, []int64{5, 9}},
		{[]int64{3}, 3, []int64{3, 1, 2}},
		{[]int64{16, 17, 18, 19, 20}, 10, []int64{16, 17, 18, 19, 20, 1, 2, 3, 4, 5}},
		{[]int64{2, 1}, 4, []int64{2, 1, 3, 4}},
	} {
		if got := cellSeeds(tc.listed, tc.repeats); !slices.Equal(got, tc.want) {
			t.Errorf("seeds %v, repeats %d: %v, want %v", tc.listed, tc.repeats, got, tc.want)
		}
	}
}
