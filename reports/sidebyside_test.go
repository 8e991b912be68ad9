package reports

import (
	"regexp"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/reports/reporttest"
	"github.com/lockstorm/lockstorm/store"
)

// matrixCampaign is sampleCampaign with the three cells of a cell's
// matrix over redis.persistence added: none finds a violation in 2 of 3
// runs, aof in none, and rdb did not run.
func matrixCampaign() store.CampaignResult {
	c := sampleCampaign()
	claim := "Without persistence a restarted Redis forgets the lock."
	for _, s := range []struct {
		value  string
		status checker.Status
		found  int
		notRun string
	}{{"none", checker.Invalid, 2, ""}, {"aof", checker.Valid, 0, ""}, {"rdb", checker.Unknown, 0, "infrastructure: no docker"}} {
		cell := store.CellResult{Name: "redis-kill@redis.persistence=" + s.value, Target: "redis", Workload: "mutex", Nemesis: "kill",
			Expect: store.ExpectUnsafe, Description: claim, Status: s.status, Met: s.found > 0, NotRun: s.notRun,
			DetectionRate: float64(s.found) / 3, TTFVMedian: -1, TTFVMin: -1, TTFVMax: -1,
			MatrixOf: &store.MatrixOf{Cell: "redis-kill", Values: []store.MatrixValue{{Option: "redis.persistence", Value: s.value}}}}
		if s.found > 0 {
			cell.TTFVMedian = 3e9
		}
		for i := 0; i < 3; i++ {
			st := checker.Valid
			if i < s.found {
				st = checker.Invalid
			}
			cell.Runs = append(cell.Runs, store.CellRun{Dir: "redis-mutex-kill/x" + s.value + string(rune('0'+i)), Seed: int64(i + 1), Status: st, FirstViolation: -1})
		}
		c.Cells = append(c.Cells, cell)
	}
	return c
}

func TestCampaignPageShowsAMatrixsValuesSideBySide(t *testing.T) {
	page := renderCampaign(t, matrixCampaign())
	start := strings.Index(page, `<section id="side-by-side">`)
	if start < 0 {
		t.Fatal("the page has no side-by-side section for a cell with a matrix")
	}
	sec := page[start:]
	sec = sec[:strings.Index(sec, "</section>")]
	if !strings.Contains(page, `<a href="#side-by-side">Side by side</a>`) {
		t.Error("the page's navigation does not link the side-by-side section")
	}
	if n := strings.Count(sec, "<table"); n != 1 {
		t.Errorf("side-by-side section has %d tables, want one for the one matrix", n)
	}
	// One header row: the option, then each value in the file's order.
	head := regexp.MustCompile(`<tr><th class="row">redis\.persistence</th><th>none</th><th>aof</th><th>rdb</th></tr>`)
	if !head.MatchString(sec) {
		t.Errorf("side-by-side table does not head its columns with the values in order:\n%s", sec)
	}
	// Then one column per value with its verdict, in the same order.
	none := strings.Index(sec, `data-value="none"`)
	aof := strings.Index(sec, `data-value="aof"`)
	rdb := strings.Index(sec, `data-value="rdb"`)
	if none < 0 || aof < none || rdb < aof {
		t.Fatalf("columns out of order or missing: none %d, aof %d, rdb %d", none, aof, rdb)
	}
	for _, want := range []string{
		`<div class="cell invalid" data-value="none">`, "detected <b>67%</b> · <span title=\"the median, over the runs that found one, from the start of the workload\">time to first violation</span> <b>3.000s</b>",
		`<div class="cell valid unmet" data-value="aof">`, "✗ not met",
		`<div class="cell notrun" data-value="rdb">`, "infrastructure: no docker",
		`<a href="#cell-redis-kill%40redis.persistence%3daof">redis-kill@redis.persistence=aof</a>`,
		"Without persistence a restarted Redis forgets the lock.", "expect unsafe",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("side-by-side section lacks %q", want)
		}
	}
	reporttest.AssertAnchorsResolve(t, page)
}

func TestCampaignPageWithoutAMatrixHasNoSideBySide(t *testing.T) {
	page := renderCampaign(t, sampleCampaign())
	if strings.Contains(page, "side-by-side") {
		t.Error("a campaign without a cell matrix shows a side-by-side section or link")
	}
}
