//go:build unix

package reports

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

func linPageOf(t *testing.T, h history.History) string {
	t.Helper()
	var buf bytes.Buffer
	must(t, WriteLinearizability(&buf, h))
	return buf.String()
}

// resolve resolves href against the directory base as a browser would,
// and returns the request target it would send.
func resolve(t *testing.T, base, href string) string {
	t.Helper()
	b, err := url.Parse("http://store" + base)
	must(t, err)
	ref, err := url.Parse(href)
	must(t, err)
	u := b.ResolveReference(ref)
	if u.Host != "store" || u.Scheme != "http" {
		t.Errorf("link %q leads to %s, off the store", href, u)
	}
	return u.RequestURI()
}

// hashOf is the CSP source that allows an inline script with this text.
func hashOf(script string) string {
	sum := sha256.Sum256([]byte(script))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

var scriptRe = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// assertPagePolicy fails unless rec is HTML whose policy allows exactly
// the page's own scripts, by hash.
func assertPagePolicy(t *testing.T, what string, rec interface {
	Header() http.Header
}, body string) {
	t.Helper()
	h := rec.Header()
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type %q, want HTML", what, ct)
	}
	csp := h.Get("Content-Security-Policy")
	src := regexp.MustCompile(`script-src ([^;]*)`).FindStringSubmatch(csp)
	if src == nil || strings.Contains(src[1], "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("%s: policy %q; want default-src 'none' and scripts by hash only", what, csp)
	}
	scripts := scriptRe.FindAllStringSubmatch(body, -1)
	if len(scripts) == 0 {
		t.Fatalf("%s has no inline script to check", what)
	}
	for _, m := range scripts {
		if !strings.Contains(src[1], hashOf(m[1])) {
			t.Errorf("%s: the policy does not allow the page's script %.40q…", what, m[1])
		}
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no nosniff", what)
	}
}

// assertPlain fails unless rec is text under the strict plain policy.
func assertPlain(t *testing.T, what string, h http.Header) {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("%s: Content-Type %q, want text/plain; charset=utf-8", what, ct)
	}
	if csp := h.Get("Content-Security-Policy"); csp != plainCSP {
		t.Errorf("%s: policy %q, want %q", what, csp, plainCSP)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no nosniff", what)
	}
}

// Only the store's own report pages are HTML. A log copied from a
// container that happens to be HTML, named index.html or with no
// extension, is text, and cannot run a script.
func TestServeOnlyTheStoresReportPagesAsHTML(t *testing.T) {
	root, _ := testStore(t)
	run := filepath.Join(root, "redis-mutex-partition", "20250101T100000Z")
	nodeDir := filepath.Join(run, "nodes", "n1")
	must(t, os.MkdirAll(nodeDir, 0o755))
	hostile := "<!doctype html><script>alert(document.domain)</script>"
	for _, name := range []string{"index.html", "redis", "server.html", "linearizability.html"} {
		must(t, os.WriteFile(filepath.Join(nodeDir, name), []byte(hostile), 0o644))
	}
	page := renderRun(t, runResult("lock-a", true), overlapHistory("lock-a", true))
	must(t, os.WriteFile(filepath.Join(run, "index.html"), []byte(page), 0o644))
	lin := linPageOf(t, overlapHistory("lock-a", true))
	must(t, os.WriteFile(filepath.Join(run, "linearizability.html"), []byte(lin), 0o644))
	h := Serve(root)
	for _, target := range []string{"/redis-mutex-partition/20250101T100000Z/", "/redis-mutex-partition/20250101T100000Z/index.html",
		"/redis-mutex-partition/20250101T100000Z/linearizability.html", "/", "/redis-mutex-partition/"} {
		rec := get(h, "GET", target)
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d", target, rec.Code)
		}
		assertPagePolicy(t, "GET "+target, rec, rec.Body.String())
	}
	for _, target := range []string{"/redis-mutex-partition/20250101T100000Z/nodes/n1/index.html",
		"/redis-mutex-partition/20250101T100000Z/nodes/n1/redis", "/redis-mutex-partition/20250101T100000Z/nodes/n1/server.html",
		"/redis-mutex-partition/20250101T100000Z/nodes/n1/linearizability.html",
		"/redis-mutex-partition/20250101T100000Z/history.jsonl", "/redis-mutex-partition/20250101T100000Z/results.json"} {
		rec := get(h, "GET", target)
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d", target, rec.Code)
		}
		assertPlain(t, "GET "+target, rec.Header())
	}
	// The node's directory is listed, not its index.html shown as a page.
	rec := get(h, "GET", "/redis-mutex-partition/20250101T100000Z/nodes/n1/")
	if body := rec.Body.String(); strings.Contains(body, "alert(document.domain)") || !strings.Contains(body, `href="redis"`) {
		t.Errorf("a node directory with an index.html: %d %s", rec.Code, tail(body, 300))
	}
}

// Links of a listing work for any file name: each href, resolved as a
// browser resolves it, serves that file.
func TestServeListingLinksWorkForAnyFileName(t *testing.T) {
	root, _ := testStore(t)
	dir := filepath.Join(root, "redis-mutex-partition", "20250101T100000Z", "nodes")
	must(t, os.MkdirAll(dir, 0o755))
	names := []string{"a:b.log", "c#d.log", "e?f.log", "g%h.log", "i j.log", "50%2e%2e.log", "k&l=m;n+o", "üñí.log", "x:y"}
	for _, n := range names {
		must(t, os.WriteFile(filepath.Join(dir, n), []byte("content of "+n), 0o644))
	}
	must(t, os.Mkdir(filepath.Join(dir, "sub:dir"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "sub:dir", "inner.log"), []byte("content of inner"), 0o644))
	h := Serve(root)
	base := "/redis-mutex-partition/20250101T100000Z/nodes/"
	listing := get(h, "GET", base).Body.String()
	hrefs := regexp.MustCompile(`<td><a href="([^"]+)">`).FindAllStringSubmatch(listing, -1)
	if len(hrefs) != len(names)+1 {
		t.Fatalf("listing has %d links, want %d:\n%s", len(hrefs), len(names)+1, listing)
	}
	for _, m := range hrefs {
		href := html.UnescapeString(m[1])
		if strings.HasSuffix(href, "/") { // the directory: follow it, then its file
			href += "inner.log"
		}
		target := resolve(t, base, href)
		rec := get(h, "GET", target)
		if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "content of ") {
			t.Errorf("link %q (GET %s): %d %q", m[1], target, rec.Code, tail(rec.Body.String(), 80))
		}
	}
	// A directory asked for without its slash is redirected to a link
	// that works too.
	rec := get(h, "GET", base+"sub%3Adir")
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusMovedPermanently || resolve(t, base, loc) != base+"sub%3Adir/" {
		t.Errorf("redirect of a directory with a colon: %d to %q", rec.Code, loc)
	}
}

// A FIFO in the store (a run that crashed mid-write, or a trap) stalls no
// request: the index skips it, and asking for it is a 404 at once.
func TestServeDoesNotBlockOnAFIFOInTheStore(t *testing.T) {
	root, _ := testStore(t)
	camp := filepath.Join(root, "campaigns", "20250103T000000Z")
	must(t, os.MkdirAll(camp, 0o755))
	if err := syscall.Mkfifo(filepath.Join(camp, "results.json"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	must(t, syscall.Mkfifo(filepath.Join(root, "etcd-mutex-pause", "20250101T110000Z.log"), 0o644))
	h := Serve(root)
	for target, want := range map[string]int{"/": 200, "/campaigns/20250103T000000Z/results.json": 404,
		"/etcd-mutex-pause/20250101T110000Z.log": 404, "/campaigns/20250103T000000Z/": 200} {
		done := make(chan int, 1)
		go func() { done <- get(h, "GET", target).Code }()
		select {
		case code := <-done:
			if code != want {
				t.Errorf("GET %s: %d, want %d", target, code, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("GET %s blocked on a FIFO", target)
		}
	}
}

// A page planted in the store where a report goes, with a script of its
// own, is not run: serve allows only the scripts of lockstorm's own
// templates, by hashes computed from them, not from the page it sends, and
// sends a page with any other script as text. Lockstorm's own pages are
// HTML under one policy, whatever their content.
func TestServeRunsOnlyLockstormsOwnScripts(t *testing.T) {
	root, _ := testStore(t)
	run := filepath.Join(root, "redis-mutex-partition", "20250101T100000Z")
	camp := filepath.Join(root, "campaigns", "20250102T080000Z")
	planted := `<!doctype html><html><head><script>fetch("/secret").then(r=>r.text()).then(alert)</script></head><body>report</body></html>`
	// A page that copies lockstorm's own scripts and adds one.
	own := renderRun(t, runResult("lock-a", false), nil)
	sneaky := strings.Replace(own, "</body>", "<script>alert(1)</script></body>", 1)
	// porcupine's view with its data back in the script.
	lin := linPageOf(t, overlapHistory("lock-a", true))
	i := strings.Index(lin, dataBlockTag)
	j := strings.Index(lin[i:], "</script>")
	data := lin[i+len(dataBlockTag) : i+j]
	inlined := strings.Replace(lin[:i]+lin[i+j+len("</script>"):], `JSON.parse(document.getElementById("lin-data").textContent)`, data+`;alert(1)`, 1)
	h := Serve(root)
	for name, page := range map[string]string{
		filepath.Join(run, "index.html"):                                          planted,
		filepath.Join(camp, "index.html"):                                         planted,
		filepath.Join(run, "linearizability.html"):                                inlined,
		filepath.Join(root, "etcd-mutex-pause", "20250101T110000Z", "index.html"): sneaky,
	} {
		must(t, os.WriteFile(name, []byte(page), 0o644))
		rel, _ := filepath.Rel(root, name)
		for _, target := range []string{"/" + filepath.ToSlash(rel), "/" + filepath.ToSlash(filepath.Dir(rel)) + "/"} {
			if strings.HasSuffix(target, "/") && !strings.HasSuffix(rel, "index.html") {
				continue
			}
			rec := get(h, "GET", target)
			if rec.Code != 200 {
				t.Fatalf("GET %s: %d", target, rec.Code)
			}
			assertPlain(t, "planted "+target, rec.Header())
		}
	}
	// Lockstorm's own pages run their own scripts, under a policy that
	// is the same for every page.
	must(t, os.WriteFile(filepath.Join(run, "index.html"), []byte(renderRun(t, runResult("lock-a", true), overlapHistory("lock-a", true))), 0o644))
	must(t, os.WriteFile(filepath.Join(run, "linearizability.html"), []byte(lin), 0o644))
	var policies []string
	for _, target := range []string{"/redis-mutex-partition/20250101T100000Z/", "/redis-mutex-partition/20250101T100000Z/linearizability.html", "/"} {
		rec := get(h, "GET", target)
		assertPagePolicy(t, "GET "+target, rec, rec.Body.String())
		policies = append(policies, rec.Header().Get("Content-Security-Policy"))
	}
	if policies[0] != policies[1] || policies[1] != policies[2] {
		t.Errorf("the policy depends on the page sent:\n%s", strings.Join(policies, "\n"))
	}
}
