package reports

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/checker"
)

// stats counts; it is not a checker and decides no verdict, so the run page
// shows it as statistics, apart from the checkers and without a verdict
// badge. contention, which only measures too, stays among the checkers
// but without a badge.
func TestStatsIsShownAsStatisticsWithoutAVerdictBadge(t *testing.T) {
	res := runResult("lock-a", false)
	res.Results = append(res.Results, checker.Result{Checker: checker.NameContention, Status: checker.Valid, Summary: "Measured 3 ways."})
	page := renderRun(t, res, overlapHistory("lock-a", false))
	if strings.Contains(page, `id="checker-stats"`) {
		t.Error("stats is listed among the checkers")
	}
	_, checkers, _ := strings.Cut(page, `<section id="checkers">`)
	checkers, _, _ = strings.Cut(checkers, "</section>")
	if n := strings.Count(checkers, `class="pill `); n != 2 {
		t.Errorf("the checkers section has %d verdict badges, want 2 (mutual-exclusion and fencing):\n%s", n, checkers)
	}
	_, contention, _ := strings.Cut(checkers, `id="checker-contention"`)
	contention, _, _ = strings.Cut(contention, "</div>")
	if strings.Contains(contention, "pill") || !strings.Contains(contention, "measurement, no verdict") {
		t.Errorf("contention wears a verdict badge: %s", contention)
	}
	_, stats, ok := strings.Cut(page, `<section id="stats">`)
	if !ok {
		t.Fatal("run page has no statistics section")
	}
	stats, _, _ = strings.Cut(stats, "</section>")
	for _, want := range []string{"<h2>Statistics</h2>", "decides no verdict", "<th>locks granted</th><td>4 of 5 acquires; 1 not granted</td>", "<th>acquire ok</th><td>4</td>"} {
		if !strings.Contains(stats, want) {
			t.Errorf("statistics section lacks %q:\n%s", want, stats)
		}
	}
	if strings.Contains(stats, "pill") || strings.Contains(stats, "VALID") {
		t.Errorf("statistics section wears a verdict:\n%s", stats)
	}
}

// statsDetails is what the stats checker wrote for a real etcd run
// (checker/testdata/real-etcd-pause-holder-fenced-outlived-lease-write-
// rejected-invalid.jsonl): 33 figures, latencies in milliseconds.
const statsDetails = `{"acquire_fail":62,"acquire_info":1,"acquire_max_ms":5683.545,"acquire_ok":9,
"acquire_p50_ms":2003.313,"acquire_p90_ms":2005.609,"acquire_p99_ms":5683.545,"duration_ms":47027.523,
"nemesis_ops":14,"operations":97,"ops":208,"processes":8,
"read_fail":0,"read_info":0,"read_max_ms":0.005,"read_ok":8,"read_p50_ms":0.004,"read_p90_ms":0.005,"read_p99_ms":0.005,
"release_fail":4,"release_info":1,"release_max_ms":2757.737,"release_ok":4,"release_p50_ms":3.248,"release_p90_ms":2757.737,"release_p99_ms":2757.737,
"write_fail":1,"write_info":0,"write_max_ms":0.049,"write_ok":7,"write_p50_ms":0.029,"write_p90_ms":0.049,"write_p99_ms":0.049}`

// The Statistics section leads with the few figures a newcomer reads, in
// words and rounded units, and folds the stats checker's every raw figure
// below them, so nothing is lost.
func TestStatisticsLeadWithAFewFiguresInWordsAndFoldTheRawOnes(t *testing.T) {
	res := runResult("lock-a", false)
	for i := range res.Results {
		if res.Results[i].Checker == checker.NameStats {
			res.Results[i].Summary = "97 operations by 8 client processes: 72 acquire (9 ok, 62 fail, 1 unknown), 8 read (8 ok, 0 fail, 0 unknown), 9 release (4 ok, 4 fail, 1 unknown) and 8 write (7 ok, 1 fail, 0 unknown)."
			res.Results[i].Details = json.RawMessage(statsDetails)
		}
	}
	page := renderRun(t, res, overlapHistory("lock-a", false))
	_, stats, ok := strings.Cut(page, `<section id="stats">`)
	if !ok {
		t.Fatal("run page has no statistics section")
	}
	stats, _, _ = strings.Cut(stats, "</section>")
	figures, folded, ok := strings.Cut(stats, `<details class="folded" id="stats-all"><summary>All figures (33)</summary>`)
	if !ok {
		t.Fatalf("the raw figures are not folded under \"All figures (33)\":\n%s", stats)
	}
	var rows []string
	for _, row := range strings.Split(figures, "<tr>")[1:] {
		row, _, _ = strings.Cut(row, "</tr>")
		rows = append(rows, row)
	}
	want := []string{
		"<th>operations</th><td>97, by 8 client processes</td>",
		"<th>time span</th><td>47 s, from the first op to the last</td>",
		"<th>throughput</th><td>2.06 operations a second</td>",
		"<th>locks granted</th><td>9 of 72 acquires; 62 not granted, 1 unknown</td>",
		"<th>acquire wait</th><td>median 2 s, p99 5.68 s</td>",
		"<th>releases</th><td>9: 4 ok, 4 failed, 1 unknown</td>",
		"<th>resource writes</th><td>8: 7 ok, 1 failed</td>",
		"<th>resource reads</th><td>8: all ok</td>",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("the figures are\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(figures, "p50") || strings.Contains(figures, "_ms") || strings.Contains(figures, "2003.313") {
		t.Errorf("raw figures sit outside the folded element:\n%s", figures)
	}
	for _, raw := range []string{"<th>acquire p50 ms</th><td>2003.313</td>", "<th>nemesis ops</th><td>14</td>", "<th>write max ms</th><td>0.049</td>"} {
		if !strings.Contains(folded, raw) {
			t.Errorf("the folded figures lack %q", raw)
		}
	}
	if n := strings.Count(folded, "<tr>"); n != 33 {
		t.Errorf("the folded table has %d rows, want all 33", n)
	}
	if !strings.Contains(figures, "Unknown means the client never learned the outcome") {
		t.Errorf("the section does not say what unknown means:\n%s", figures)
	}
	if strings.Contains(stats, "72 acquire (9 ok") {
		t.Errorf("the section repeats the checker's summary next to its table:\n%s", figures)
	}
}

// The figures follow the stats checker's keys: a history run through
// checker.Stats yields every figure of the table.
func TestStatisticsReadTheStatsCheckersKeys(t *testing.T) {
	r := checker.Stats(overlapHistory("lock-a", true))
	var got []string
	for _, row := range statsFigures(r.Details) {
		got = append(got, row.K)
	}
	want := []string{"operations", "time span", "throughput", "locks granted", "acquire wait", "releases", "resource writes"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("figures %q from %s, want %q", got, r.Details, want)
	}
}

func TestMillisRoundsToTheUnitPeopleRead(t *testing.T) {
	for ms, want := range map[float64]string{0: "0 ms", 0.004: "4 µs", 0.0125: "12.5 µs", 3.248: "3.25 ms", 20: "20 ms",
		999: "999 ms", 2757.737: "2.76 s", 47027.523: "47 s", 1203456: "1,203 s"} {
		if got := millis(ms); got != want {
			t.Errorf("millis(%v) = %q, want %q", ms, got, want)
		}
	}
}

// Details that hold none of the stats checker's figures (a result from
// elsewhere) leave no table to lead with: the summary says what was
// counted and the raw rows are shown unfolded.
func TestStatisticsWithoutFiguresShowTheSummaryAndTheRawRows(t *testing.T) {
	res := runResult("lock-a", false)
	for i := range res.Results {
		if res.Results[i].Checker == checker.NameStats {
			res.Results[i].Details = json.RawMessage(`{"ops":24}`)
		}
	}
	page := renderRun(t, res, overlapHistory("lock-a", false))
	_, stats, _ := strings.Cut(page, `<section id="stats">`)
	stats, _, _ = strings.Cut(stats, "</section>")
	for _, want := range []string{"decides no verdict. 24 ops.</p>", `<details class="folded" id="stats-all" open><summary>All figures (1)</summary>`, "<th>ops</th><td>24</td>"} {
		if !strings.Contains(stats, want) {
			t.Errorf("statistics section lacks %q:\n%s", want, stats)
		}
	}
	if strings.Contains(stats, `id="stats-figures"`) {
		t.Errorf("statistics section has a table of figures it cannot fill:\n%s", stats)
	}
}
