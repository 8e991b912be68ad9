//go:build linux

// Package reporttest opens lockstorm's HTML pages in headless Chromium for
// tests: script errors, verdict, timeline lanes and in-page links. It is a
// test helper package, used by the tests of reports and of the CLI.
package reporttest

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The browser tests open the generated pages in headless Chromium (Debian's
// Chromium package). They fail when CI is set and Chromium is missing, and
// skip elsewhere.

func Chromium(t *testing.T) string {
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

// Artifacts is where screenshots go: $LOCKSTORM_ARTIFACTS, else a temp dir.
func Artifacts(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("LOCKSTORM_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// Headless runs one Chromium command on a page and returns its stdout and
// stderr. Chromium runs in its own process group, which is killed on
// timeout, so no helper process outlives the test.
func Headless(t *testing.T, bin string, args ...string) (string, string) {
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

// OpenPage dumps the rendered DOM of file, takes a screenshot of it, and
// fails the test on any script error.
func OpenPage(t *testing.T, bin, file, shot string) string {
	t.Helper()
	url := "file://" + file
	dom, stderr := Headless(t, bin, "--virtual-time-budget=3000", "--dump-dom", url)
	if strings.Contains(dom, "data-js-error=") {
		t.Errorf("%s: a script error was caught on the page: %s", file, regexp.MustCompile(`data-js-error="[^"]*"`).FindString(dom))
	}
	for _, line := range strings.Split(stderr, "\n") {
		if consoleErr.MatchString(line) {
			t.Errorf("%s: console error: %s", file, line)
		}
	}
	Headless(t, bin, "--window-size=1400,2000", "--screenshot="+shot, url)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10000 {
		t.Errorf("screenshot %s missing or blank: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
	return dom
}

// CountLanes counts the lanes of the overview timeline in a rendered DOM.
func CountLanes(t *testing.T, dom string) int {
	t.Helper()
	i := strings.Index(dom, `id="timeline-overview"`)
	if i < 0 {
		t.Fatal("rendered DOM has no overview timeline")
	}
	j := strings.Index(dom[i:], "</svg>")
	return strings.Count(dom[i:i+j], "data-lane=")
}

var (
	idRe   = regexp.MustCompile(`id="([^"]+)"`)
	hrefRe = regexp.MustCompile(`href="#([^"]+)"`)
)

// AssertAnchorsResolve fails t when an in-page link of page has no target.
// A link's fragment matches an id as it is or percent-decoded, as a
// browser finds it (the HTML standard's indicated part of the document):
// html/template escapes "@" and "=" in a link, not in an id.
func AssertAnchorsResolve(t *testing.T, page string) {
	t.Helper()
	ids := map[string]bool{}
	for _, m := range idRe.FindAllStringSubmatch(page, -1) {
		ids[m[1]] = true
	}
	links := hrefRe.FindAllStringSubmatch(page, -1)
	if len(links) == 0 {
		t.Fatal("no in-page links at all")
	}
	for _, m := range links {
		decoded, err := url.PathUnescape(m[1])
		if !ids[m[1]] && (err != nil || !ids[decoded]) {
			t.Errorf("link #%s has no target", m[1])
		}
	}
}
