//go:build linux

package reports

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/harness/store"
	"github.com/lockstorm/lockstorm/history"
)

// The browser tests open the generated pages in headless Chromium (Debian's
// chromium package). They fail when CI is set and Chromium is missing, and
// skip elsewhere.

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI needs the browser tests: apt-get install -y chromium")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser test")
	return ""
}

// artifacts is where screenshots go: $LOCKSTORM_ARTIFACTS, else a temp dir.
func artifacts(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("LOCKSTORM_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// headless runs one Chromium command on a page and returns its stdout and
// stderr. Chromium runs in its own process group, which is killed on
// timeout, so no helper process outlives the test.
func headless(t *testing.T, bin string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + t.TempDir(),
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
		"--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
		"--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, tail(errb.String(), 2000))
	}
	return out.String(), errb.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

var consoleErr = regexp.MustCompile(`(?i)CONSOLE.*(uncaught|error)`)

// openPage dumps the rendered DOM of file, takes a screenshot of it, and
// fails the test on any script error.
func openPage(t *testing.T, bin, file, shot string) string {
	t.Helper()
	url := "file://" + file
	dom, stderr := headless(t, bin, "--virtual-time-budget=3000", "--dump-dom", url)
	if strings.Contains(dom, "data-js-error=") {
		t.Errorf("%s: a script error was caught on the page: %s", file, regexp.MustCompile(`data-js-error="[^"]*"`).FindString(dom))
	}
	for _, line := range strings.Split(stderr, "\n") {
		if consoleErr.MatchString(line) {
			t.Errorf("%s: console error: %s", file, line)
		}
	}
	headless(t, bin, "--window-size=1400,2000", "--screenshot="+shot, url)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10000 {
		t.Errorf("screenshot %s missing or blank: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
	return dom
}

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

func countLanes(t *testing.T, dom string) int {
	t.Helper()
	i := strings.Index(dom, `id="timeline-overview"`)
	if i < 0 {
		t.Fatal("rendered DOM has no overview timeline")
	}
	j := strings.Index(dom[i:], "</svg>")
	return strings.Count(dom[i:i+j], "data-lane=")
}

func TestBrowserRunPage(t *testing.T) {
	bin := chromium(t)
	art := artifacts(t)
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
			dom := openPage(t, bin, page, filepath.Join(art, c.name+".png"))
			if !strings.Contains(dom, `class="banner `+c.status+`"`) {
				t.Errorf("rendered page does not show verdict %s", c.status)
			}
			if n := countLanes(t, dom); n != c.lanes {
				t.Errorf("timeline has %d lanes, want %d", n, c.lanes)
			}
			assertAnchorsResolve(t, dom)
			if c.status == "invalid" && !strings.Contains(dom, `href="#anomaly-1"`) {
				t.Error("no link to the first anomaly in the rendered page")
			}
		})
	}
}

func TestBrowserCampaignPage(t *testing.T) {
	bin := chromium(t)
	art := artifacts(t)
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
	dom := openPage(t, bin, page, filepath.Join(art, "campaign.png"))
	if !strings.Contains(dom, `class="banner invalid"`) {
		t.Error("campaign with an unmet cell is not shown as not met")
	}
	if strings.Contains(dom, `id="filters" hidden`) || !regexp.MustCompile(`\d+ of \d+ runs shown`).MatchString(dom) {
		t.Error("the filter script did not run")
	}
	if n := strings.Count(dom, `class="matrix"`); n != 2 {
		t.Errorf("got %d matrices, want one per workload (2)", n)
	}
	assertAnchorsResolve(t, dom)
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
	bin := chromium(t)
	page := filepath.Join(t.TempDir(), "broken.html")
	var head bytes.Buffer
	if err := pages.ExecuteTemplate(&head, "head", common()); err != nil {
		t.Fatal(err)
	}
	html := "<!doctype html><html><head>" + head.String() + "</head><body><script>noSuchFunction();</script></body></html>"
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, _ := headless(t, bin, "--virtual-time-budget=3000", "--dump-dom", "file://"+page)
	if !strings.Contains(dom, "data-js-error=") {
		t.Error("a script error on the page went unnoticed")
	}
}

func TestBrowserLinearizabilityPage(t *testing.T) {
	bin := chromium(t)
	art := artifacts(t)
	page := filepath.Join(art, "linearizability.html")
	writeFile(t, page, func(b *bytes.Buffer) error { return WriteLinearizability(b, overlapHistory("lock-a", true)) })
	dom := openPage(t, bin, page, filepath.Join(art, "linearizability.png"))
	if len(dom) < 1000 {
		t.Errorf("linearizability page rendered almost nothing (%d bytes)", len(dom))
	}
}
