package reports

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/reports/reporttest"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// sampleCampaign has two workloads, three targets and three nemeses; the
// redis mutex under clock faults is expected unsafe but stayed safe, so
// one cell's expectation is not met.
func sampleCampaign() store.CampaignResult {
	c := store.CampaignResult{Name: "default", ID: "20250102T080000Z", ExitCode: 1,
		Started: time.Date(2025, 1, 2, 8, 0, 0, 0, time.UTC), Duration: 42 * time.Minute}
	type spec struct {
		target, workload, nemesis string
		expect                    store.Expectation
		found                     int // runs that found a violation, of 3
	}
	specs := []spec{
		{"redis", "mutex", "partition", store.ExpectUnsafe, 2},
		{"redis", "mutex", "clock", store.ExpectUnsafe, 0},
		{"etcd", "mutex", "partition", store.ExpectSafe, 0},
		{"etcd", "mutex", "pause", store.ExpectSafe, 0},
		{"zookeeper", "mutex", "pause", store.ExpectExplore, 1},
		{"postgres", "inventory", "kill", store.ExpectSafe, 0},
		{"redlock", "inventory", "clock", store.ExpectUnsafe, 3},
	}
	for _, s := range specs {
		name := s.target + "-" + s.workload + "-" + s.nemesis
		cell := store.CellResult{Name: name, Target: s.target, Workload: s.workload, Nemesis: s.nemesis,
			Expect: s.expect, Status: checker.Valid, TTFVMedian: -1, TTFVMin: -1, TTFVMax: -1,
			Description: "Does " + s.target + " keep mutual exclusion under " + s.nemesis + "?"}
		var ttfvs []int64
		for i := 0; i < 3; i++ {
			r := store.CellRun{Dir: fmt.Sprintf("%s/2025010208%02d00Z", name, i), Seed: int64(100 + i), Status: checker.Valid,
				Summary: "Mutual exclusion held.", FirstViolation: -1, Ops: 1200 + i, Duration: 60 * time.Second}
			if i < s.found {
				r.Status = checker.Invalid
				r.FirstViolation = int64(i+2) * 7e9
				r.Summary = "Two clients held lock-a at once."
				ttfvs = append(ttfvs, r.FirstViolation)
				cell.Status = checker.Invalid
			}
			cell.Runs = append(cell.Runs, r)
		}
		cell.DetectionRate = float64(s.found) / 3
		if len(ttfvs) > 0 {
			cell.TTFVMedian = ttfvs[len(ttfvs)/2]
		}
		switch s.expect {
		case store.ExpectSafe:
			cell.Met = s.found == 0
		case store.ExpectUnsafe:
			cell.Met = s.found > 0
		default:
			cell.Met = true
		}
		cell.Outcome = fmt.Sprintf("%d of 3 runs found a violation", s.found)
		c.Cells = append(c.Cells, cell)
	}
	return c
}

func renderCampaign(t *testing.T, c store.CampaignResult) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCampaign(&buf, c); err != nil {
		t.Fatalf("WriteCampaign: %v", err)
	}
	return buf.String()
}

func TestCampaignMatrixGroupsByWorkload(t *testing.T) {
	groups := matrix(sampleCampaign().Cells)
	if len(groups) != 2 || groups[0].Workload != "mutex" || groups[1].Workload != "inventory" {
		t.Fatalf("groups = %+v, want mutex then inventory", groups)
	}
	mutex := groups[0]
	if got := strings.Join(mutex.Nemeses, ","); got != "partition,clock,pause" {
		t.Errorf("mutex columns = %s", got)
	}
	if len(mutex.Rows) != 3 {
		t.Fatalf("mutex rows = %d, want redis, etcd, zookeeper", len(mutex.Rows))
	}
	// etcd has no clock cell: that slot is empty, the others are filled.
	etcd := mutex.Rows[1]
	if etcd.Label != "etcd" || len(etcd.Cells) != 3 || etcd.Cells[1] != nil || etcd.Cells[0] == nil || etcd.Cells[2] == nil {
		t.Errorf("etcd row = %+v", etcd)
	}
}

func TestCampaignPageShowsCellsAndRuns(t *testing.T) {
	c := sampleCampaign()
	page := renderCampaign(t, c)
	for _, want := range []string{
		"1 of 7 cells did not meet their expectation.",
		`class="banner invalid"`,
		`href="../../redis-mutex-partition/20250102080000Z/index.html"`,
		"detected <b>67%</b>",
		">time to first violation</span> <b>14.000s</b>",
		"✗ not met",
		`<tr class="st-invalid" data-status="invalid">`,
		`id="filters" hidden`, // shown only by the script
	} {
		if !strings.Contains(page, want) {
			t.Errorf("campaign page lacks %q", want)
		}
	}
	if n := strings.Count(page, "<tr class=\"st-"); n != 21 {
		t.Errorf("run table has %d rows, want 21", n)
	}
	if n := strings.Count(page, `<tr class="claim `); n != len(c.Cells) {
		t.Errorf("claims table has %d rows, want one per cell (%d)", n, len(c.Cells))
	}
	reporttest.AssertAnchorsResolve(t, page)
}

func TestRunHrefStaysInTheStore(t *testing.T) {
	for dir, want := range map[string]string{
		"redis-mutex-partition/20250101T000000Z": "../../redis-mutex-partition/20250101T000000Z/index.html",
		"cell with space/1":                      "../../cell%20with%20space/1/index.html",
		"../../etc":                              "",
		"/etc/passwd":                            "",
		`..\..\etc`:                              "",
		"":                                       "",
		"a/../../b":                              "",
	} {
		if got := string(runHref(dir)); got != want {
			t.Errorf("runHref(%q) = %q, want %q", dir, got, want)
		}
	}
}

func TestAllMetCampaignIsGreen(t *testing.T) {
	c := sampleCampaign()
	var cells []store.CellResult
	for _, cell := range c.Cells {
		if cell.Met {
			cells = append(cells, cell)
		}
	}
	c.Cells, c.ExitCode = cells, 0
	page := renderCampaign(t, c)
	if !strings.Contains(page, `class="banner valid"`) || !strings.Contains(page, "All 6 cells met their expectation.") {
		t.Error("campaign whose cells all met their expectation is not green")
	}
}

// "ttfv" is never on the campaign page: the time to first violation is
// spelt out, in the claims table's head, in the legends and in every cell.
func TestCampaignPageSpellsOutTimeToFirstViolation(t *testing.T) {
	page := renderCampaign(t, sampleCampaign())
	if n := strings.Count(strings.ToLower(page), "ttfv"); n != 0 {
		t.Errorf("campaign page says ttfv %d times; it is spelt out as time to first violation", n)
	}
	if !strings.Contains(page, "<th>time to first violation</th>") {
		t.Error("the claims table has no time to first violation column")
	}
	if !strings.Contains(page, ">time to first violation</span> <b>14.000s</b>") {
		t.Error("the matrix's cells do not spell out the time to first violation")
	}
}

// The campaign page leads with the claims (issue 32): right after the
// banner, one row per cell with its claim, verdict, whether its
// expectation was met, detection rate, time to first violation and links
// to its runs; the matrix of targets by nemeses comes after, as a second
// view.
func TestCampaignPageLeadsWithTheClaims(t *testing.T) {
	c := sampleCampaign()
	c.Cells[1].Description = "" // a cell that states no claim still has its row
	page := renderCampaign(t, c)
	claims, matrix := strings.Index(page, `<section id="claims">`), strings.Index(page, `<section id="matrix">`)
	if claims < 0 || matrix < 0 || claims > matrix {
		t.Fatalf("claims table at %d, matrix at %d: want the claims first", claims, matrix)
	}
	if between := page[strings.Index(page, "</section>")+len("</section>") : claims]; strings.Contains(between, "<section") {
		t.Error("a section comes between the banner and the claims table")
	}
	if nav := page[strings.Index(page, "<nav>"):]; strings.Index(nav, `href="#claims"`) > strings.Index(nav, `href="#matrix"`) {
		t.Error("the navigation names the matrix before the claims")
	}
	sec := section(t, page, "claims", "</section>")
	if n := strings.Count(sec, `<tr class="claim `); n != len(c.Cells) {
		t.Errorf("claims table has %d rows, want one per cell (%d)", n, len(c.Cells))
	}
	// redis-mutex-partition: 2 of 3 runs found a violation, expected.
	row := sec[strings.Index(sec, `id="claim-redis-mutex-partition"`):]
	row = row[:strings.Index(row, "</tr>")]
	for _, want := range []string{
		"Does redis keep mutual exclusion under partition?",
		`<td class="st">Invalid</td>`,
		"expect unsafe: ", "✓ met",
		"<b>67%</b>", "(2 of 3 runs)",
		"<td><b>21.000s</b></td>",
		`href="../../redis-mutex-partition/20250102080000Z/index.html">seed 100</a>`,
		`<a href="#runs" data-cell="redis-mutex-partition">all runs of redis-mutex-partition</a>`,
	} {
		if !strings.Contains(row, want) {
			t.Errorf("claims row of redis-mutex-partition lacks %q:\n%s", want, row)
		}
	}
	// redis-mutex-clock: expected unsafe, stayed safe.
	row = sec[strings.Index(sec, `id="claim-redis-mutex-clock"`):]
	row = row[:strings.Index(row, "</tr>")]
	for _, want := range []string{"no claim stated", "✗ not met", "(0 of 3 runs)", "<td><b>–</b></td>"} {
		if !strings.Contains(row, want) {
			t.Errorf("claims row of redis-mutex-clock lacks %q:\n%s", want, row)
		}
	}
	// The matrix still shows every cell.
	if n := strings.Count(section(t, page, "matrix", "</section>"), `<div class="cell `); n != len(c.Cells) {
		t.Errorf("the matrix shows %d cells, want %d", n, len(c.Cells))
	}
	reporttest.AssertAnchorsResolve(t, page)
}
