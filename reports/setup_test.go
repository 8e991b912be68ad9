package reports

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// afterSetup is the overlap run as it happens after 15 s of setup: every
// op 15 s later, and the workload's start recorded at 15 s.
func afterSetup() (history.History, int64) {
	const setup = int64(15 * time.Second)
	h := overlapHistory("lock-a", true)
	for i := range h {
		h[i].Time += setup
	}
	return h, setup
}

var (
	axisLabel = regexp.MustCompile(`<text x="([0-9.]+)" y="[0-9.]+" text-anchor="middle">([0-9.]+)s</text>`)
	faultRect = regexp.MustCompile(`<rect class="fault" data-fault="partition" x="([0-9.]+)"`)
	markerAt  = regexp.MustCompile(`<path class="marker" d="M([0-9.]+) `)
)

// svgClock reads the time axis of one SVG and returns the time (in
// seconds, on the run's clock) at an x, and the first label's time.
func svgClock(t *testing.T, svg string) (func(x float64) float64, float64) {
	t.Helper()
	ls := axisLabel.FindAllStringSubmatch(svg, -1)
	if len(ls) < 2 {
		t.Fatalf("fewer than two time labels in %.200s", svg)
	}
	x0, _ := strconv.ParseFloat(ls[0][1], 64)
	s0, _ := strconv.ParseFloat(ls[0][2], 64)
	x1, _ := strconv.ParseFloat(ls[len(ls)-1][1], 64)
	s1, _ := strconv.ParseFloat(ls[len(ls)-1][2], 64)
	return func(x float64) float64 { return s0 + (x-x0)*(s1-s0)/(x1-x0) }, s0
}

func cut(t *testing.T, page, start string) string {
	t.Helper()
	i := strings.Index(page, start)
	if i < 0 {
		t.Fatalf("no %s in the page", start)
	}
	return page[i : i+strings.Index(page[i:], "</svg>")]
}

func TestTimelineAndPlotsStartAtTheWorkloadAndKeepFaultsAndIncidentsOnTheRunsClock(t *testing.T) {
	h, setup := afterSetup()
	res := runResult("lock-a", true)
	res.WorkloadStart = setup
	res.Results[0].Anomalies[0].Start += setup
	res.Results[0].Anomalies[0].End += setup
	page := renderRun(t, res, h)
	if !strings.Contains(page, `id="setup"`) || !strings.Contains(page, "start at 15.000s, when the workload started") {
		t.Error("the page does not say that the timeline starts at the workload's start")
	}
	near := func(what string, got, want float64) {
		if math.Abs(got-want) > 0.05 {
			t.Errorf("%s at %.3fs on the axis, want %.3fs", what, got, want)
		}
	}
	for _, id := range []string{`<svg id="timeline-overview"`, `<svg id="latency"`, `<svg id="throughput"`} {
		svg := cut(t, page, id)
		at, first := svgClock(t, svg)
		if first < 15 {
			t.Errorf("%s: first time label %gs, want none before the workload's start at 15s", id, first)
		}
		m := faultRect.FindStringSubmatch(svg)
		if m == nil {
			t.Fatalf("%s: no partition shading", id)
		}
		x, _ := strconv.ParseFloat(m[1], 64)
		near(id+": the partition's shading", at(x), 16.5)
		if id == `<svg id="timeline-overview"` {
			m := markerAt.FindStringSubmatch(svg)
			if m == nil {
				t.Fatal("no incident marker on the overview")
			}
			x, _ := strconv.ParseFloat(m[1], 64)
			near("incident 1's marker", at(x), 17.6)
		}
	}
}

func TestTimelineOfAResultWithoutWorkloadStartStartsAtZero(t *testing.T) {
	h, _ := afterSetup()
	page := renderRun(t, runResult("lock-a", true), h)
	if strings.Contains(page, `id="setup"`) {
		t.Error("a run without a recorded workload start says where it started")
	}
	if _, first := svgClock(t, cut(t, page, `<svg id="timeline-overview"`)); first != 0 {
		t.Errorf("first label %gs, want 0s", first)
	}
}
