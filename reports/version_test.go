package reports

import (
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// The version the server reported is in the verdict's banner, and under
// the command that reproduces the run; a run without one says nothing of
// it.
func TestRunPageShowsTheServerThatRan(t *testing.T) {
	res := runResult("lock-a", false)
	res.ServerVersion = "etcd 3.4.23"
	page := renderRun(t, res, overlapHistory("lock-a", false))
	banner := page[strings.Index(page, `id="verdict"`):]
	banner = banner[:strings.Index(banner, "</section>")]
	if want := `<li id="server">server <b>etcd 3.4.23</b> (reported by the server)</li>`; !strings.Contains(banner, want) {
		t.Errorf("the banner lacks %q:\n%s", want, banner)
	}
	cmd, ran := strings.Index(banner, `<pre class="cmd"`), strings.Index(banner, "ran etcd 3.4.23, as the server reported")
	if cmd < 0 || ran < cmd {
		t.Errorf("the reproduce command (at %d) is not followed by the server that ran (at %d)", cmd, ran)
	}
	if !strings.Contains(res.Command, "lockstorm run") || strings.Contains(res.Command, "3.4.23") {
		t.Errorf("the command changed: %q", res.Command)
	}
	res.ServerVersion = `redis <7.0.15>`
	if page := renderRun(t, res, nil); !strings.Contains(page, "server <b>redis &lt;7.0.15&gt;</b>") {
		t.Error("the version is not escaped")
	}
	if page := renderRun(t, runResult("lock-a", false), nil); strings.Contains(page, `id="server"`) || strings.Contains(page, "as the server reported") {
		t.Error("a run without a version shows one")
	}
}

// The campaign page shows, in each cell, the versions its runs reported,
// every one of them when they differ, in the order the runs reported
// them; in the table of every run, each run's; and in the values side by
// side, the version that ran under each value.
func TestCampaignPageShowsTheServerVersionOfEachCell(t *testing.T) {
	c := store.CampaignResult{Name: "versions", ID: "20240101-000000", Cells: []store.CellResult{
		{Name: "etcd-mutex-pause", Target: "etcd", Workload: "mutex", Nemesis: "pause", Expect: store.ExpectSafe, Status: checker.Valid, Met: true,
			Runs: []store.CellRun{{Seed: 1, Status: checker.Valid, ServerVersion: "etcd 3.4.23"}, {Seed: 2, Status: checker.Valid, ServerVersion: "etcd 3.4.23"}}},
		{Name: "redis-mutex-pause", Target: "redis", Workload: "mutex", Nemesis: "pause", Expect: store.ExpectSafe, Status: checker.Valid, Met: true,
			Runs: []store.CellRun{{Seed: 1, Status: checker.Valid, ServerVersion: "redis 7.2.4"}, {Seed: 2, Status: checker.Valid}, {Seed: 3, Status: checker.Valid, ServerVersion: "redis 7.0.15"}}},
		{Name: "memcached-mutex-pause", Target: "memcached", Workload: "mutex", Nemesis: "pause", Expect: store.ExpectSafe, Status: checker.Valid, Met: true,
			Runs: []store.CellRun{{Seed: 1, Status: checker.Valid}}},
	}}
	page := renderCampaign(t, c)
	cell := func(name string) string {
		i := strings.Index(page, `id="cell-`+name+`"`)
		if i < 0 {
			t.Fatalf("no cell %s", name)
		}
		s := page[i:]
		return s[:strings.Index(s, "all runs of")]
	}
	if want := `server <b>etcd 3.4.23</b>`; !strings.Contains(cell("etcd-mutex-pause"), want) {
		t.Errorf("the etcd cell lacks %q:\n%s", want, cell("etcd-mutex-pause"))
	}
	if want := `servers <b>redis 7.2.4</b>, <b>redis 7.0.15</b>`; !strings.Contains(cell("redis-mutex-pause"), want) {
		t.Errorf("the redis cell lacks %q:\n%s", want, cell("redis-mutex-pause"))
	}
	if strings.Contains(cell("memcached-mutex-pause"), "server") {
		t.Errorf("a cell whose runs reported no version shows one:\n%s", cell("memcached-mutex-pause"))
	}
	runs := page[strings.Index(page, `id="runs"`):]
	if !strings.Contains(runs, `reported">server</th>`) || !strings.Contains(runs, `<td class="mono">redis 7.0.15</td>`) {
		t.Errorf("the table of every run lacks each run's server version")
	}
}

func TestSideBySideShowsTheVersionThatRanUnderEachValue(t *testing.T) {
	of := func(v string) *store.MatrixOf {
		return &store.MatrixOf{Cell: "etcd-pause", Values: []store.MatrixValue{{Option: "etcd.version", Value: v}}}
	}
	c := store.CampaignResult{Name: "m", Cells: []store.CellResult{
		{Name: "etcd-pause@etcd.version=3.4", Target: "etcd", Workload: "mutex", Nemesis: "pause", Expect: store.ExpectSafe, Status: checker.Valid, Met: true,
			MatrixOf: of("3.4"), Runs: []store.CellRun{{Seed: 1, Status: checker.Valid, ServerVersion: "etcd 3.4.23"}}},
		{Name: "etcd-pause@etcd.version=3.6", Target: "etcd", Workload: "mutex", Nemesis: "pause", Expect: store.ExpectSafe, Status: checker.Valid, Met: true,
			MatrixOf: of("3.6"), Runs: []store.CellRun{{Seed: 1, Status: checker.Valid, ServerVersion: "etcd 3.6.5"}}},
	}}
	page := renderCampaign(t, c)
	side := page[strings.Index(page, `id="side-by-side"`):]
	side = side[:strings.Index(side, "</section>")]
	for _, v := range []string{"3.4", "3.6"} {
		i := strings.Index(side, `data-value="`+v+`"`)
		if i < 0 {
			t.Fatalf("no column for %s:\n%s", v, side)
		}
		col := side[i:]
		col = col[:strings.Index(col, "</td>")]
		want := map[string]string{"3.4": "ran <b>etcd 3.4.23</b>", "3.6": "ran <b>etcd 3.6.5</b>"}[v]
		if !strings.Contains(col, want) {
			t.Errorf("the column of %s lacks %q:\n%s", v, want, col)
		}
	}
}
