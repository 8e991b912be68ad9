package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// marginResult is a hand-made margin of Redis against client-pause: it
// held every run at 0.9 s of stall, broke one of three at 1 s and every
// run from 1.1 s, with a 1-s lease.
func marginResult() store.MarginResult {
	holds, breaks := 900*time.Millisecond, 1100*time.Millisecond
	step := func(v time.Duration, broke int, id string) store.MarginStep {
		st := store.MarginStep{Value: v, Violations: broke, Runs: 3, Rate: float64(broke) / 3}
		for i := 0; i < 3; i++ {
			status := checker.Valid
			if i < broke {
				status = checker.Invalid
			}
			st.Trials = append(st.Trials, store.Trial{Seed: int64(i + 1), Status: status,
				Dir: "/tmp/st/margins/redis-client-pause.stall/20260101T000000.000/runs/redis-mutex-client-pause/" + id + "-" + string(rune('a'+i))})
		}
		return st
	}
	return store.MarginResult{
		Command: "lockstorm margin --target redis --nemesis client-pause --ttl 1s --vary client-pause.stall=200ms..3s --seeds 3",
		Target:  "redis", Nemeses: []string{"client-pause"},
		Vary:  store.MarginVary{Option: "client-pause.stall", From: 200 * time.Millisecond, To: 3 * time.Second},
		Seeds: []int64{1, 2, 3}, Lease: time.Second,
		Margin: store.MarginFound{Outcome: "found", Holds: &holds, Breaks: &breaks, Steps: []store.MarginStep{
			step(200*time.Millisecond, 0, "s1"), step(3*time.Second, 3, "s2"), step(1600*time.Millisecond, 3, "s3"),
			step(900*time.Millisecond, 0, "s4"), step(time.Second, 1, "s5"), step(1100*time.Millisecond, 3, "s6"),
		}},
	}
}

func renderMargin(t *testing.T, m store.MarginResult) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteMargin(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// The margin page says what was found in one sentence, plots every step
// labelled violations/runs with the lease and both bounds marked, and
// links every run relatively.
func TestMarginPageStatesTheMarginAndMarksTheLease(t *testing.T) {
	page := renderMargin(t, marginResult())
	for _, want := range []string{
		"It held every run up to 0.9 s of stall and broke every run from 1.1 s; the lease is 1 s.",
		`<g class="mark lease" data-value="1000000000">`, ">lease 1 s</text>",
		`<g class="mark holds" data-value="900000000">`, ">holds 0.9 s</text>",
		`<g class="mark breaks" data-value="1100000000">`, ">breaks 1.1 s</text>",
		">1/3</text>", ">0/3</text>", ">3/3</text>",
		`href="runs/redis-mutex-client-pause/s5-a/"`, `href="runs/redis-mutex-client-pause/s6-c/"`,
		`href="../../../"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("margin page lacks %s", want)
		}
	}
	if n := strings.Count(page, `<g class="step"`); n != 6 {
		t.Errorf("%d points, want one for each of 6 steps", n)
	}
	// The table is in the order of the values, not of the search.
	if i, j := strings.Index(page, `<td class="mono">0.2 s</td>`), strings.Index(page, `<td class="mono">3 s</td>`); i < 0 || j < i {
		t.Errorf("steps table out of order (%d, %d)", i, j)
	}
}

// A range with no boundary says so, with the outcome, instead of the
// margin; ZooKeeper's lease is its session timeout.
func TestMarginPageWithNoBoundary(t *testing.T) {
	m := marginResult()
	top := 3 * time.Second
	m.Margin = store.MarginFound{Outcome: "above-range", Holds: &top, Steps: m.Margin.Steps[:2]}
	m.Margin.Steps[1].Violations = 0
	m.Target = "zookeeper"
	page := renderMargin(t, m)
	for _, want := range []string{
		"It held every run up to 3 s of stall, the top of the range: the margin is above the range; the session timeout is 1 s.",
		"No boundary in range", ">session timeout 1 s</text>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("margin page lacks %s", want)
		}
	}
	if strings.Contains(page, `class="mark breaks"`) {
		t.Error("a margin with no break marks one")
	}
	m.Margin = store.MarginFound{Outcome: "below-range"}
	m.Lease = 0
	if page := renderMargin(t, m); !strings.Contains(page, "It broke every run at 0.2 s of stall already, the bottom of the range: the margin is below the range.") {
		t.Error("below-range sentence missing")
	}
}

// Every value from the result is escaped.
func TestMarginPageEscapes(t *testing.T) {
	m := marginResult()
	m.Target, m.Vary.Option = "<script>x</script>", "a.<i>y"
	page := renderMargin(t, m)
	if strings.Contains(page, "<script>x") || strings.Contains(page, "<i>y") {
		t.Error("an unescaped value on the margin page")
	}
}

// A campaign cell that asked for a margin shows, on the campaign page,
// the values found and a link to the margin's page.
func TestCampaignPageShowsAMarginCell(t *testing.T) {
	c := sampleCampaign()
	holds, breaks := 900*time.Millisecond, 1100*time.Millisecond
	c.Cells[0].Margin = &store.CellMargin{Dir: "margins/redis-client-pause.stall/20260101T000000.000", Option: "client-pause.stall",
		Outcome: "found", Holds: &holds, Breaks: &breaks, Lease: time.Second}
	var buf bytes.Buffer
	if err := WriteCampaign(&buf, c); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{"margin of client-pause.stall: holds at 900ms, breaks at 1.1s (lease 1s)",
		`<a href="../../margins/redis-client-pause.stall/20260101T000000.000/index.html">margin page</a>`} {
		if !strings.Contains(page, want) {
			t.Errorf("campaign page lacks %s", want)
		}
	}
	// Once in the claims table, once in the matrix.
	if n := strings.Count(page, `class="margin"`); n != 2 {
		t.Errorf("%d margins shown, want 2", n)
	}
	if !strings.Contains(section(t, page, "claims", "</section>"), "margin of client-pause.stall: holds at 900ms") {
		t.Error("the claims table does not show the margin cell's margin")
	}
}
