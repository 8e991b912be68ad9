package reports

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/reports/reporttest"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/store"
)

var update = flag.Bool("update", false, "rewrite the files in testdata/ from the test builders")

func renderRun(t *testing.T, res store.RunResult, h history.History) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteRun(&buf, res, h); err != nil {
		t.Fatalf("WriteRun: %v", err)
	}
	return buf.String()
}

// overviewSVG cuts the overview timeline out of a page.
func overviewSVG(t *testing.T, page string) string {
	t.Helper()
	i := strings.Index(page, `<svg id="timeline-overview"`)
	if i < 0 {
		t.Fatal("no overview timeline in the page")
	}
	j := strings.Index(page[i:], "</svg>")
	return page[i : i+j]
}

func TestRunPageShowsOverlapUnderFault(t *testing.T) {
	h := overlapHistory("lock-a", true)
	page := renderRun(t, runResult("lock-a", true), h)
	for _, want := range []string{
		`data-status="invalid"`,
		"Two clients held lock-a at once",
		"Holder outlived its lease",
		"only fencing tokens protect against this",
		`<h2>1 incident</h2>`,
		`id="incident-1"`,
		`reported by <span class="tag">mutual-exclusion</span>`,
		`href="#focus-1"`,
		`id="focus-1"`,
		`<span class="tag">partition</span>`,
		"lockstorm run --target redis --workload mutex --nemesis partition --seed 42",
		`data-count="stale-rejected">1<`,
		`data-count="stale-accepted">0<`,
		"Clock faults do not apply to this target.",
		"redis.fsync",
		"latency p50 ms",
		`id="latency"`,
		`id="throughput"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	ov := overviewSVG(t, page)
	if n := strings.Count(ov, "data-lane="); n != 4 {
		t.Errorf("overview has %d lanes, want 4 (processes 0..3)", n)
	}
	if !strings.Contains(ov, `class="hold red"`) || !strings.Contains(ov, `class="overlap"`) {
		t.Error("overview does not draw the overlapping holds in red")
	}
	if !strings.Contains(ov, `data-fault="partition"`) {
		t.Error("overview does not shade the partition")
	}
	if !strings.Contains(ov, `href="#incident-1"`) {
		t.Error("overview has no marker linking to the incident")
	}
	// The focus window shows the two holders, red, under the partition.
	i := strings.Index(page, `id="focus-1-svg"`)
	focus := page[i : i+strings.Index(page[i:], "</svg>")]
	for _, want := range []string{`class="hold red"`, `data-fault="partition"`, ">p0<", ">p1<", `class="anomaly-span"`} {
		if !strings.Contains(focus, want) {
			t.Errorf("focus window lacks %q", want)
		}
	}
}

func TestRunPageValidHasNoRed(t *testing.T) {
	page := renderRun(t, runResult("lock-a", false), overlapHistory("lock-a", false))
	if !strings.Contains(page, `data-status="valid"`) {
		t.Error("valid run not shown as valid")
	}
	for _, bad := range []string{`hold red`, `class="overlap"`, `id="incident-`, `id="incidents"`, `id="focus-`} {
		if strings.Contains(page, bad) {
			t.Errorf("valid run page contains %q", bad)
		}
	}
	if n := strings.Count(overviewSVG(t, page), "data-lane="); n != 4 {
		t.Errorf("overview has %d lanes, want 4", n)
	}
}

func TestRunPageAnchorsResolve(t *testing.T) {
	reporttest.AssertAnchorsResolve(t, renderRun(t, runResult("lock-a", true), overlapHistory("lock-a", true)))
	h := synthetic(20000, 8, 3)
	reporttest.AssertAnchorsResolve(t, renderRun(t, syntheticResult(h, 30), h))
}

func TestRunPageWithoutHistory(t *testing.T) {
	res := runResult("lock-a", true)
	res.Plan.Hold = -1 // --hold auto, never resolved
	page := renderRun(t, res, nil)
	if !strings.Contains(page, "No history is available") {
		t.Error("page does not say the history is missing")
	}
	if !strings.Contains(page, "<tr><th>hold</th><td>auto</td></tr>") {
		t.Error("an unresolved --hold auto is not shown as auto")
	}
	if strings.Contains(page, `href="#focus-`) {
		t.Error("page links to focus windows it cannot draw")
	}
	reporttest.AssertAnchorsResolve(t, page)
}

func TestUnknownVerdictIsAmber(t *testing.T) {
	res := runResult("lock-a", false)
	res.Status = "unknown"
	res.Error = "node n2 did not start"
	page := renderRun(t, res, overlapHistory("lock-a", false))
	if !strings.Contains(page, `class="banner unknown"`) || !strings.Contains(page, "node n2 did not start") {
		t.Error("unknown verdict or infrastructure error not shown")
	}
}

func TestManyProcessesArePacked(t *testing.T) {
	h := synthetic(20000, 60, 9) // 60 clients: more than maxLanes
	page := renderRun(t, syntheticResult(h, 2), h)
	n := strings.Count(overviewSVG(t, page), "data-lane=")
	if n == 0 || n > maxLanes {
		t.Errorf("overview has %d lanes, want 1..%d", n, maxLanes)
	}
}

// TestTestdataRendersAsRecorded replays the recorded runs in testdata/:
// each directory holds a history.jsonl and results.json, and its name ends
// in the verdict the page must show.
func TestTestdataRendersAsRecorded(t *testing.T) {
	if *update {
		for name, overlap := range map[string]bool{"overlap-under-partition-invalid": true, "sequential-holds-valid": false} {
			writeTestdata(t, name, overlapHistory("lock-a", overlap), runResult("lock-a", overlap))
		}
	}
	dirs, _ := filepath.Glob("testdata/*-*")
	if len(dirs) < 2 {
		t.Fatalf("want at least 2 recorded runs in testdata, found %d", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			h, res := readTestdata(t, dir)
			page := renderRun(t, res, h)
			want := dir[strings.LastIndex(dir, "-")+1:]
			if !strings.Contains(page, `data-status="`+want+`"`) {
				t.Errorf("page does not show verdict %s", want)
			}
			reporttest.AssertAnchorsResolve(t, page)
		})
	}
}

func readTestdata(t *testing.T, dir string) (history.History, store.RunResult) {
	t.Helper()
	h, err := history.ReadFile(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res store.RunResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return h, res
}

func writeTestdata(t *testing.T, name string, h history.History, res store.RunResult) {
	t.Helper()
	dir := filepath.Join("testdata", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, o := range h {
		line, _ := json.Marshal(o)
		buf.Write(append(line, '\n'))
	}
	raw, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "history.jsonl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(raw, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRunPageFoldsIncidentsBeyondTheFirstFew: a lock that never excluded
// anyone overlaps hundreds of times; the page counts the incidents, tells
// the first few in full with a window each, and folds the rest into one
// list instead of a card each.
func TestRunPageFoldsIncidentsBeyondTheFirstFew(t *testing.T) {
	h := synthetic(20000, 8, 3)
	res := syntheticResult(h, 60)
	n := checker.Judge(res.Results, checker.Rules{}).IncidentCount
	if n < 50 {
		t.Fatalf("the fixture makes only %d incidents", n)
	}
	page := renderRun(t, res, h)
	if !strings.Contains(page, fmt.Sprintf("<h2>%d incidents</h2>", n)) {
		t.Errorf("page does not count the %d incidents", n)
	}
	i := strings.Index(page, `<section id="incidents">`)
	j := strings.Index(page, `<details class="folded" id="more-incidents">`)
	if i < 0 || j < i {
		t.Fatal("no incidents section with a folded list")
	}
	if n := strings.Count(page[i:j], `<li id="incident-`); n != maxExplained {
		t.Errorf("%d incidents told in full, want %d", n, maxExplained)
	}
	rest := n - maxExplained
	if !strings.Contains(page, fmt.Sprintf("<summary>%d more incidents</summary>", rest)) || strings.Count(page[j:], `<tr id="incident-`) != rest {
		t.Errorf("the folded list does not hold the other %d incidents", rest)
	}
	if n := strings.Count(page, `class="focus-box"`); n != maxExplained {
		t.Errorf("%d focus windows, want one per incident told in full (%d)", n, maxExplained)
	}
	reporttest.AssertAnchorsResolve(t, page)
}

// TestRunPageSaysWhatWasNotChecked: a checker that had nothing to judge is
// shown as not checked, not as unknown.
func TestRunPageSaysWhatWasNotChecked(t *testing.T) {
	res := runResult("lock-a", false)
	res.Results = append(res.Results, checker.Result{Checker: checker.NameLiveness, Status: checker.Unknown, Skipped: true,
		Summary: "No liveness probe in this history; liveness was not checked."})
	page := renderRun(t, res, overlapHistory("lock-a", false))
	i := strings.Index(page, `id="checker-liveness"`)
	if i < 0 || !strings.Contains(page[i:i+400], `<span class="pill skipped">Not checked</span>`) {
		t.Error("the skipped liveness checker is not shown as not checked")
	}
}

// A run whose nemeses never struck says so next to the verdict, not only
// in the fault schedule's section.
func TestRunPageWarnsNearTheVerdictWhenNoFaultStruck(t *testing.T) {
	res := runResult("lock-a", false)
	res.Plan.Schedule.Events = nil
	res.Notes = []store.Note{{Kind: store.NoteNotApplicable, Text: "Nemesis partition: not applicable: no nodes."}}
	page := renderRun(t, res, nil)
	i, j := strings.Index(page, `id="verdict"`), strings.Index(page, `id="no-faults"`)
	if j < 0 || i < 0 || j > strings.Index(page, "</section>") {
		t.Fatalf("no warning in the verdict's banner:\n%s", page)
	}
	if want := "No fault struck:</b> no fault was scheduled: nemesis partition: not applicable: no nodes. This run is no evidence of safety under the nemeses asked for (partition)."; !strings.Contains(page, want) {
		t.Errorf("the warning does not say why; want %q", want)
	}
	res.NoFaults = "none of the 1 scheduled faults took effect"
	if page := renderRun(t, res, nil); !strings.Contains(page, "No fault struck:</b> none of the 1 scheduled faults took effect.") {
		t.Errorf("the page does not show the run's own record")
	}
	if page := renderRun(t, runResult("lock-a", false), overlapHistory("lock-a", false)); strings.Contains(page, `id="no-faults"`) {
		t.Errorf("a run whose fault struck is warned about")
	}
}
