package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/reports/reporttest"
	"github.com/lockstorm/lockstorm/store"
)

// sampleContention is a scaling sweep: every way with 1 to 32 clients. The
// lock levels off at 4 clients (its knee), the optimistic write a little
// higher, and the atomic decrement goes on climbing.
func sampleContention() checker.ContentionDetails {
	d := checker.ContentionDetails{At: 16, LockKnee: 4, LockGain: 1.15,
		Ratios: map[string]float64{checker.WayOptimistic: 1.7, checker.WayAtomic: 10.3}}
	rates := map[string][]float64{
		checker.WayLock:       {400, 700, 900, 1000, 1020, 1035},
		checker.WayOptimistic: {600, 1100, 1500, 1650, 1734, 1500},
		checker.WayAtomic:     {800, 1600, 3100, 6000, 10506, 12345},
	}
	for _, way := range checker.Ways {
		for i, n := range []int{1, 2, 4, 8, 16, 32} {
			r := rates[way][i]
			d.Points = append(d.Points, checker.ContentionPoint{Way: way, Clients: n, Key: checker.ContentionKey(way, n),
				Deductions: int(r * 2), Seconds: 2, PerSecond: r, P50Ms: float64(n) * 0.5, P90Ms: float64(n), P99Ms: float64(n) * 2.25,
				Retries: n * 3})
		}
	}
	return d
}

// contentionResult is the contention checker's result with figures d.
func contentionResult(d checker.ContentionDetails) checker.Result {
	raw, _ := json.Marshal(d)
	return checker.Result{Checker: checker.NameContention, Status: checker.Valid,
		Summary: "Deductions a second by clients.", Details: raw}
}

// hostileContention is a contention result whose way, key and ratio carry
// evil.
func hostileContention() checker.Result {
	d := sampleContention()
	d.Points = append(d.Points, checker.ContentionPoint{Way: evil, Clients: 8, Key: evil, PerSecond: 50},
		checker.ContentionPoint{Way: checker.WayLock, Clients: 64, Key: evil, PerSecond: 990})
	d.Ratios[evil] = 2
	return contentionResult(d)
}

// section cuts the element with id out of page, up to the first end tag
// that follows it.
func section(t *testing.T, page, id, end string) string {
	t.Helper()
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("page has no element %s", id)
	}
	j := strings.Index(page[i:], end)
	if j < 0 {
		t.Fatalf("element %s has no %s", id, end)
	}
	return page[i : i+j]
}

// polylineXs reads the x coordinates of the polyline of way in svg.
func polylineXs(t *testing.T, svg, way string) []float64 {
	t.Helper()
	pl := section(t, svg, "contention-plot", "</svg>")
	i := strings.Index(pl, `<polyline class="way" data-way="`+way+`"`)
	if i < 0 {
		t.Fatalf("no polyline of %s", way)
	}
	pl = pl[i:]
	pl = pl[strings.Index(pl, `points="`)+len(`points="`):]
	var xs []float64
	for _, pt := range strings.Fields(pl[:strings.Index(pl, `"`)]) {
		x, err := strconv.ParseFloat(strings.Split(pt, ",")[0], 64)
		if err != nil {
			t.Fatalf("point %q of %s: %v", pt, way, err)
		}
		xs = append(xs, x)
	}
	return xs
}

func TestContentionPlotDrawsEveryWayOnALogScale(t *testing.T) {
	svg := contentionPlot(sampleContention(), "contention-plot").String()
	if n := strings.Count(svg, "<polyline"); n != len(checker.Ways) {
		t.Errorf("%d polylines, want one per way (%d)", n, len(checker.Ways))
	}
	for _, way := range checker.Ways {
		if n := strings.Count(svg, `<polyline class="way" data-way="`+way+`"`); n != 1 {
			t.Errorf("%d polylines of %s, want 1", n, way)
		}
	}
	for _, want := range []string{
		">under the lock</text>", ">optimistic (conditional write)</text>", ">atomic decrement</text>",
		"knee: 4 clients", `stroke-dasharray="5 4"`,
		"at 16 clients: optimistic 1.7×, atomic 10.3× the lock",
		">1</text>", ">2</text>", ">4</text>", ">8</text>", ">16</text>", ">32</text>",
		">0/s</text>", ">5k/s</text>", ">15k/s</text>",
		"<title>atomic decrement, 32 clients: 12,345 deductions/s (24690 in 2s), p50 16 ms, p90 32 ms, p99 72 ms, 96 retries, key item-atomic-c32</title>",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("plot lacks %q", want)
		}
	}
	if n := strings.Count(svg, "<title>"); n < 18 {
		t.Errorf("%d tooltips, want one per point (18) at least", n)
	}
	// A log2 scale: each doubling of the clients is the same step right.
	xs := polylineXs(t, svg, checker.WayLock)
	if len(xs) != 6 {
		t.Fatalf("the lock's line has %d points, want 6", len(xs))
	}
	for i := 2; i < len(xs); i++ {
		if d, d0 := xs[i]-xs[i-1], xs[1]-xs[0]; d < d0-0.2 || d > d0+0.2 {
			t.Errorf("the step from %d to %d clients is %v, want %v as from 1 to 2", 1<<(i-1), 1<<i, d, d0)
		}
	}
}

func TestContentionPlotWithoutKneeOrRatios(t *testing.T) {
	d := sampleContention()
	d.LockKnee, d.LockGain, d.Ratios, d.At = 0, 0, nil, 0
	d.Points = d.Points[:1] // the lock with one client
	svg := contentionPlot(d, "contention-plot").String()
	for _, bad := range []string{"knee:", `class="caption"`, "× the lock"} {
		if strings.Contains(svg, bad) {
			t.Errorf("plot without a knee or ratios has %q", bad)
		}
	}
	if n := strings.Count(svg, "<polyline"); n != 1 {
		t.Errorf("%d polylines, want 1", n)
	}
}

func TestContentionPlotEscapesHostileValues(t *testing.T) {
	d, _ := contentionDetails(hostileContention())
	svg := contentionPlot(d, "contention-plot").String()
	assertEscaped(t, "contention plot", svg)
	if n := strings.Count(svg, "<polyline"); n != len(checker.Ways)+1 {
		t.Errorf("%d polylines, want one per way and one for the unknown way", n)
	}
}

func TestRunPageShowsThroughputByClients(t *testing.T) {
	res := runResult("lock-a", false)
	res.Results = append(res.Results, contentionResult(sampleContention()))
	page := renderRun(t, res, overlapHistory("lock-a", false))
	for _, want := range []string{
		`<section id="contention"><h2>Throughput by clients</h2>`,
		`<svg id="contention-plot" class="plot contention"`,
		`href="#contention"`,
		"knee: 4 clients",
		"at 16 clients: optimistic 1.7×, atomic 10.3× the lock",
		`<th colspan="3">optimistic (conditional write)</th>`,
		`<tr><td>32</td><td class="mono">1,035</td><td class="mono">16</td><td class="mono">72</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	table := section(t, page, "contention-table", "</table>")
	if n := strings.Count(table, "<tr><td>"); n != 6 {
		t.Errorf("the table has %d rows, want one per number of clients (6)", n)
	}
	if n := strings.Count(table, `<td class="mono">`); n != 6*3*3 {
		t.Errorf("the table has %d figures, want 3 for each way and clients (54)", n)
	}
	reporttest.AssertAnchorsResolve(t, page)
	// The section needs the results only, not the history.
	if page := renderRun(t, res, nil); !strings.Contains(page, `<section id="contention">`) {
		t.Error("a run without a history has no throughput-by-clients section")
	}
}

func TestRunPageWithoutContentionHasNoSection(t *testing.T) {
	empty := runResult("lock-a", false)
	empty.Results = append(empty.Results, contentionResult(checker.ContentionDetails{}))
	for name, res := range map[string]store.RunResult{"no contention result": runResult("lock-a", false), "no point": empty} {
		page := renderRun(t, res, overlapHistory("lock-a", false))
		for _, bad := range []string{`id="contention"`, "Throughput by clients", "contention-plot"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: run page has %q", name, bad)
			}
		}
	}
}

func TestRunPageEscapesHostileContention(t *testing.T) {
	res, h := hostileRun()
	page := renderRun(t, res, h)
	if !strings.Contains(page, `<section id="contention">`) {
		t.Fatal("the hostile run's contention result is not shown")
	}
	assertEscaped(t, "throughput by clients", section(t, page, "contention", "</section>"))
}

// contentionStore writes a store under a new directory: a contention cell
// whose first run has no results.json and whose second has a contention
// result, and a mutex cell whose runs have none. It returns the store's
// root and the campaign.
func contentionStore(t *testing.T) (string, store.CampaignResult) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "store")
	c := sampleCampaign()
	cell := store.CellResult{Name: "redis-contention-none", Target: "redis", Workload: "contention", Nemesis: "none",
		Expect: store.ExpectSafe, Status: checker.Valid, Met: true, TTFVMedian: -1}
	for i := 0; i < 2; i++ {
		cell.Runs = append(cell.Runs, store.CellRun{Dir: fmt.Sprintf("redis-contention-none/2025010208%02d00Z", i),
			Seed: int64(200 + i), Status: checker.Valid, FirstViolation: -1, Duration: time.Minute})
	}
	c.Cells = append(c.Cells, cell)
	withPlot := runResult("lock-a", false)
	withPlot.Results = append(withPlot.Results, contentionResult(sampleContention()))
	writeRunResult(t, root, cell.Runs[1].Dir, withPlot)
	for _, r := range c.Cells[0].Runs {
		writeRunResult(t, root, r.Dir, runResult("lock-a", false))
	}
	return root, c
}

// writeRunResult writes res as the results.json of dir under root.
func writeRunResult(t *testing.T, root, dir string, res store.RunResult) {
	t.Helper()
	path := filepath.Join(root, filepath.FromSlash(dir), store.ResultsFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(res)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCampaignPageShowsThroughputByClients(t *testing.T) {
	root, c := contentionStore(t)
	var buf strings.Builder
	if err := WriteCampaignFromStore(&buf, c, root); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		`<section id="contention"><h2>Throughput by clients</h2>`,
		`href="#contention"`,
		`<h3><a href="#cell-redis-contention-none">redis-contention-none</a> <span class="muted small">seed 201`,
		`href="../../redis-contention-none/20250102080100Z/index.html">open run</a>`,
		`<svg id="contention-plot-1" class="plot contention"`,
		"knee: 4 clients",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("campaign page lacks %q", want)
		}
	}
	if n := strings.Count(page, `class="plot contention"`); n != 1 {
		t.Errorf("%d plots, want one, for the one cell with a contention result", n)
	}
	reporttest.AssertAnchorsResolve(t, page)
	// Without the store, the page is as it was.
	if page := renderCampaign(t, c); strings.Contains(page, `id="contention"`) {
		t.Error("a campaign page written without its store has a throughput-by-clients section")
	}
}

// TestCampaignPageReadsOnlyInsideTheStore: a run directory that leads out
// of the store is not read, even when there is a results.json there.
func TestCampaignPageReadsOnlyInsideTheStore(t *testing.T) {
	root, c := contentionStore(t)
	outside := runResult("lock-a", false)
	outside.Results = append(outside.Results, contentionResult(sampleContention()))
	writeRunResult(t, filepath.Dir(root), "outside", outside)
	if err := os.Symlink(filepath.Join(filepath.Dir(root), "outside"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	c.Cells = c.Cells[:len(c.Cells)-1]
	c.Cells[0].Runs[0].Dir = "../outside"
	c.Cells[0].Runs[1].Dir = filepath.Join(filepath.Dir(root), "outside")
	c.Cells[0].Runs[2].Dir = "link"
	var buf strings.Builder
	if err := WriteCampaignFromStore(&buf, c, root); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `id="contention"`) {
		t.Error("the campaign page plots a run from outside the store")
	}
}

func TestCampaignPageEscapesHostileContention(t *testing.T) {
	root, c := contentionStore(t)
	cell := &c.Cells[len(c.Cells)-1]
	cell.Name = evil
	res := runResult(evil, false)
	res.Results = append(res.Results, hostileContention())
	writeRunResult(t, root, cell.Runs[1].Dir, res)
	var buf strings.Builder
	if err := WriteCampaignFromStore(&buf, c, root); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if !strings.Contains(page, `<section id="contention">`) {
		t.Fatal("the hostile cell's plot is not shown")
	}
	assertEscaped(t, "campaign throughput by clients", section(t, page, "contention", "</section>"))
}
