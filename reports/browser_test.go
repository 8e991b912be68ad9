//go:build linux

package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/reports/reporttest"
	"github.com/lockstorm/lockstorm/store"
)

func writeFile(t *testing.T, path string, write func(*bytes.Buffer) error) {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserRunPage(t *testing.T) {
	bin := reporttest.Chromium(t)
	art := reporttest.Artifacts(t)
	dir := art // the pages stay next to their screenshots
	cases := []struct {
		name, status string
		res          store.RunResult
		h            history.History
		lanes        int
	}{
		{"run-invalid", "invalid", runResult("lock-a", true), overlapHistory("lock-a", true), 4},
		{"run-valid", "valid", runResult("lock-a", false), overlapHistory("lock-a", false), 4},
	}
	long := synthetic(30000, 10, 5)
	cases = append(cases, struct {
		name, status string
		res          store.RunResult
		h            history.History
		lanes        int
	}{"run-long", "invalid", syntheticResult(long, 6), long, len(derive(long).overviewLanes())})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page := filepath.Join(dir, c.name+".html")
			writeFile(t, page, func(b *bytes.Buffer) error { return WriteRun(b, c.res, c.h) })
			dom := reporttest.OpenPage(t, bin, page, filepath.Join(art, c.name+".png"))
			if !strings.Contains(dom, `class="banner `+c.status+`"`) {
				t.Errorf("rendered page does not show verdict %s", c.status)
			}
			if n := reporttest.CountLanes(t, dom); n != c.lanes {
				t.Errorf("timeline has %d lanes, want %d", n, c.lanes)
			}
			reporttest.AssertAnchorsResolve(t, dom)
			if c.status == "invalid" && (!strings.Contains(dom, `href="#incident-1"`) || !strings.Contains(dom, `id="incident-1"`)) {
				t.Error("no link to the first incident in the rendered page")
			}
		})
	}
}

func TestBrowserCampaignPage(t *testing.T) {
	bin := reporttest.Chromium(t)
	art := reporttest.Artifacts(t)
	root := filepath.Join(art, "campaign-store")
	c := sampleCampaign()
	page := filepath.Join(root, "campaigns", c.ID, "index.html")
	if err := os.MkdirAll(filepath.Dir(page), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, page, func(b *bytes.Buffer) error { return WriteCampaign(b, c) })
	// One run page where the campaign links to, to check the link lands.
	run := filepath.Join(root, c.Cells[0].Runs[0].Dir, "index.html")
	if err := os.MkdirAll(filepath.Dir(run), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, run, func(b *bytes.Buffer) error {
		return WriteRun(b, runResult("lock-a", true), overlapHistory("lock-a", true))
	})
	dom := reporttest.OpenPage(t, bin, page, filepath.Join(art, "campaign.png"))
	if !strings.Contains(dom, `class="banner invalid"`) {
		t.Error("campaign with an unmet cell is not shown as not met")
	}
	if strings.Contains(dom, `id="filters" hidden`) || !regexp.MustCompile(`\d+ of \d+ runs shown`).MatchString(dom) {
		t.Error("the filter script did not run")
	}
	if n := strings.Count(dom, `class="matrix"`); n != 2 {
		t.Errorf("got %d matrices, want one per workload (2)", n)
	}
	// The page leads with the claims; the matrix is the second view.
	claims, matrix := strings.Index(dom, `id="claims"`), strings.Index(dom, `id="matrix"`)
	if claims < 0 || matrix < 0 || claims > matrix {
		t.Errorf("rendered page has the claims table at %d and the matrix at %d: want the claims first", claims, matrix)
	}
	if n := strings.Count(dom, `<tr class="claim `); n != len(c.Cells) {
		t.Errorf("rendered claims table has %d rows, want one per cell (%d)", n, len(c.Cells))
	}
	if !strings.Contains(dom, "<th>time to first violation</th>") || strings.Contains(strings.ToLower(dom), "ttfv") {
		t.Error("rendered page does not spell out the time to first violation")
	}
	reporttest.AssertAnchorsResolve(t, dom)
	href := "../../" + c.Cells[0].Runs[0].Dir + "/index.html"
	if !strings.Contains(dom, `href="`+href+`"`) {
		t.Fatalf("campaign page does not link %s", href)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(page), filepath.FromSlash(href))); err != nil {
		t.Errorf("run link does not land on the run page: %v", err)
	}
}

// TestBrowserDetectsScriptErrors shows that the checks above can fail: a
// page with a broken script is caught.
func TestBrowserDetectsScriptErrors(t *testing.T) {
	bin := reporttest.Chromium(t)
	page := filepath.Join(t.TempDir(), "broken.html")
	var head bytes.Buffer
	if err := pages.ExecuteTemplate(&head, "head", common()); err != nil {
		t.Fatal(err)
	}
	html := "<!doctype html><html><head>" + head.String() + "</head><body><script>noSuchFunction();</script></body></html>"
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, _ := reporttest.Headless(t, bin, "--virtual-time-budget=3000", "--dump-dom", "file://"+page)
	if !strings.Contains(dom, "data-js-error=") {
		t.Error("a script error on the page went unnoticed")
	}
}

func TestBrowserLinearizabilityPage(t *testing.T) {
	bin := reporttest.Chromium(t)
	art := reporttest.Artifacts(t)
	page := filepath.Join(art, "linearizability.html")
	writeFile(t, page, func(b *bytes.Buffer) error { return WriteLinearizability(b, overlapHistory("lock-a", true)) })
	dom := reporttest.OpenPage(t, bin, page, filepath.Join(art, "linearizability.png"))
	if len(dom) < 1000 {
		t.Errorf("linearizability page rendered almost nothing (%d bytes)", len(dom))
	}
}

// The margin page renders in a browser, with its plot, its marks and a
// link to a run that lands on the run's page.
func TestBrowserMarginPage(t *testing.T) {
	bin := reporttest.Chromium(t)
	art := reporttest.Artifacts(t)
	dir := filepath.Join(art, "margin-store", "margins", "redis-client-pause.stall", "20260101T000000.000")
	m := marginResult()
	run := filepath.Join(dir, "runs", "redis-mutex-client-pause", "s5-a", "index.html")
	if err := os.MkdirAll(filepath.Dir(run), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, run, func(b *bytes.Buffer) error {
		return WriteRun(b, runResult("lock-a", true), overlapHistory("lock-a", true))
	})
	page := filepath.Join(dir, "index.html")
	writeFile(t, page, func(b *bytes.Buffer) error { return WriteMargin(b, m) })
	dom := reporttest.OpenPage(t, bin, page, filepath.Join(art, "margin.png"))
	for _, want := range []string{`id="margin-plot"`, `class="mark lease"`, `class="mark holds"`, `class="mark breaks"`, "the lease is 1 s."} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered margin page lacks %s", want)
		}
	}
	reporttest.AssertAnchorsResolve(t, dom)
	href := "runs/redis-mutex-client-pause/s5-a/"
	if !strings.Contains(dom, `href="`+href+`"`) {
		t.Fatalf("margin page does not link %s", href)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(href), "index.html")); err != nil {
		t.Errorf("run link does not land on the run page: %v", err)
	}
}
