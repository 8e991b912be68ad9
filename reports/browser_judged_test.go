//go:build linux

package reports

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/reports/reporttest"
)

// TestBrowserRunPageJudgedByFencingAfterSetup renders, in Chromium, the
// overlap run judged by fencing after 15 s of setup: the banner is green
// and says the data stayed safe while showing that mutual exclusion
// broke, and the timeline starts at the workload's start.
func TestBrowserRunPageJudgedByFencingAfterSetup(t *testing.T) {
	bin := reporttest.Chromium(t)
	art := reporttest.Artifacts(t)
	h, setup := afterSetup()
	res := judgedByFencing()
	res.WorkloadStart = setup
	res.Results[0].Anomalies[0].Start += setup
	res.Results[0].Anomalies[0].End += setup
	page := filepath.Join(art, "run-judged-by-fencing.html")
	writeFile(t, page, func(b *bytes.Buffer) error { return WriteRun(b, res, h) })
	dom := reporttest.OpenPage(t, bin, page, filepath.Join(art, "run-judged-by-fencing.png"))
	for _, want := range []string{
		`class="banner valid"`,
		`<div class="verdict">Valid by fencing</div>`,
		"The data stayed safe: fencing refused every stale write (1).",
		`found the history invalid, which does not decide here`,
		`id="incident-1"`,
		`id="setup"`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	if _, first := svgClock(t, cut(t, dom, `<svg id="timeline-overview"`)); first < 15 {
		t.Errorf("the rendered timeline's first label is %gs, before the workload's start at 15s", first)
	}
}
