package reports

import (
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
	for _, want := range []string{"<h2>Statistics</h2>", "decides no verdict", "24 ops.", "<th>acquire ok</th><td>4</td>"} {
		if !strings.Contains(stats, want) {
			t.Errorf("statistics section lacks %q:\n%s", want, stats)
		}
	}
	if strings.Contains(stats, "pill") || strings.Contains(stats, "VALID") {
		t.Errorf("statistics section wears a verdict:\n%s", stats)
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
