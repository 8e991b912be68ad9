package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/reports/reporttest"
)

// BenchmarkWriteRun100k renders the run page, timeline and plots included,
// for a synthetic history of 100k ops with 20 anomalies.
func BenchmarkWriteRun100k(b *testing.B) {
	h := synthetic(100000, 16, 1)
	res := syntheticResult(h, 20)
	size := 0
	for b.Loop() {
		var buf bytes.Buffer
		if err := WriteRun(&buf, res, h); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size)/1e6, "MB/page")
}

// TestLongRunPageIsBounded checks that a 100k-op history gives a page of at
// most 10 MB, with bounded drawing: the latency plot keeps at most
// maxPoints marks and every focus window is drawn.
func TestLongRunPageIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a 100k-op history")
	}
	h := synthetic(100000, 16, 1)
	if len(h) < 95000 {
		t.Fatalf("synthetic history has only %d ops", len(h))
	}
	res := syntheticResult(h, 40)
	page := renderRun(t, res, h)
	if len(page) > 10<<20 {
		t.Errorf("page is %d bytes, want at most 10 MB", len(page))
	}
	if n := strings.Count(page, `class="focus-box"`); n != maxFocus {
		t.Errorf("%d focus windows, want the cap of %d", n, maxFocus)
	}
	i := strings.Index(page, `<svg id="latency"`)
	lat := page[i : i+strings.Index(page[i:], "</svg>")]
	if n := strings.Count(lat, "M"); n > maxPoints+200 { // marks, plus a few axis paths
		t.Errorf("latency plot has %d marks, want about %d at most", n, maxPoints)
	}
	if n := strings.Count(overviewSVG(t, page), "<"); n > 60000 {
		t.Errorf("overview has %d elements, want a bounded number", n)
	}
	reporttest.AssertAnchorsResolve(t, page)
}
