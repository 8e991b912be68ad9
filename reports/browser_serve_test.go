//go:build linux

package reports

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/reports/reporttest"
	"github.com/lockstorm/lockstorm/store"
)

// openServed loads url in headless Chromium and returns the rendered DOM,
// failing on a script error or a script that the page's policy refused.
func openServed(t *testing.T, bin, url string) string {
	t.Helper()
	dom, stderr := reporttest.Headless(t, bin, "--virtual-time-budget=3000", "--dump-dom", url)
	if strings.Contains(dom, "data-js-error=") {
		t.Errorf("%s: a script error was caught on the page", url)
	}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "Content Security Policy") {
			t.Errorf("%s: the policy refused something: %s", url, line)
		}
	}
	return dom
}

// Served by `lockstorm serve`, under its policy, the report pages' own
// scripts still run, and a page planted in the store runs none of its own.
func TestBrowserServedPagesRunOnlyTheirOwnScripts(t *testing.T) {
	bin := reporttest.Chromium(t)
	root := t.TempDir()
	c := sampleCampaign()
	camp := filepath.Join(root, "campaigns", c.ID)
	run := filepath.Join(root, "redis-mutex-partition", "20250101T120000Z")
	trap := filepath.Join(root, "trap", "20250101T120000Z")
	for _, d := range []string{camp, run, trap} {
		must(t, os.MkdirAll(d, 0o755))
	}
	writeFile(t, filepath.Join(camp, "index.html"), func(b *bytes.Buffer) error { return WriteCampaign(b, c) })
	writeFile(t, filepath.Join(run, "index.html"), func(b *bytes.Buffer) error {
		return WriteRun(b, runResult("lock-a", true), overlapHistory("lock-a", true))
	})
	must(t, store.WriteJSON(filepath.Join(run, store.ResultsFile), runResult("lock-a", true)))
	writeFile(t, filepath.Join(run, "linearizability.html"), func(b *bytes.Buffer) error {
		return WriteLinearizability(b, overlapHistory("lock-a", true))
	})
	// A page planted in the store, whose own script marks the body, and
	// whose markup carries a handler.
	must(t, os.WriteFile(filepath.Join(trap, "index.html"), []byte(`<!doctype html><html><body>`+
		`<img src="data:," onerror="document.body.setAttribute('data-injected','ran')">`+
		`<a id="js" href="javascript:document.body.setAttribute('data-injected','ran')">x</a>`+
		`<script>document.body.setAttribute('data-own','ran'); document.getElementById('js').click();</script></body></html>`), 0o644))
	srv := httptest.NewServer(Serve(root)) // loopback only
	defer srv.Close()

	dom := openServed(t, bin, srv.URL+"/campaigns/"+c.ID+"/")
	if strings.Contains(dom, `id="filters" hidden`) || !regexp.MustCompile(`\d+ of \d+ runs shown`).MatchString(dom) {
		t.Error("served campaign page: the filter script did not run")
	}
	if dom := openServed(t, bin, srv.URL+"/redis-mutex-partition/20250101T120000Z/"); !strings.Contains(dom, `class="banner invalid"`) {
		t.Error("served run page does not show its verdict")
	}
	if dom := openServed(t, bin, srv.URL+"/redis-mutex-partition/20250101T120000Z/linearizability.html"); !strings.Contains(dom, "<svg") || len(dom) < 5000 {
		t.Errorf("served linearizability page drew nothing (%d bytes)", len(dom))
	}
	if dom := openServed(t, bin, srv.URL+"/"); !strings.Contains(dom, "redis-mutex-partition") {
		t.Error("served store index lists nothing")
	}
	// The pages above show that this browser runs lockstorm's scripts
	// under serve's policy; a page planted in the store runs nothing, not
	// even its own script (issue 27).
	dom, _ = reporttest.Headless(t, bin, "--virtual-time-budget=3000", "--dump-dom", srv.URL+"/trap/20250101T120000Z/")
	if strings.Contains(dom, `data-own="ran"`) {
		t.Error("a page that lockstorm did not write ran its own script under serve")
	}
	if strings.Contains(dom, `data-injected="ran"`) {
		t.Error("an injected handler ran under serve")
	}
}
