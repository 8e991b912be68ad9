package reports

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// testStore lays out a store as the harness does: two runs of one cell,
// one of another, a campaign, store/latest as a relative symlink, and,
// beside the store, a secret file that no request may reach.
func testStore(t *testing.T) (root, secret string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "store")
	secret = filepath.Join(base, "secret.txt")
	must(t, os.WriteFile(secret, []byte("TOP-SECRET"), 0o644))
	runs := []struct {
		cell, id string
		status   checker.Status
		started  time.Time
	}{
		{"redis-mutex-partition", "20250101T100000Z", checker.Invalid, time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)},
		{"redis-mutex-partition", "20250101T120000Z", checker.Valid, time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"etcd-mutex-pause", "20250101T110000Z", checker.Unknown, time.Date(2025, 1, 1, 11, 0, 0, 0, time.UTC)},
	}
	for _, r := range runs {
		dir := filepath.Join(root, r.cell, r.id)
		must(t, os.MkdirAll(dir, 0o755))
		res := store.RunResult{ID: r.id, Cell: r.cell, Status: r.status, Summary: "summary of " + r.id, Started: r.started}
		raw, _ := json.Marshal(res)
		must(t, os.WriteFile(filepath.Join(dir, "results.json"), raw, 0o644))
		must(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html><p>run "+r.id), 0o644))
		must(t, os.WriteFile(filepath.Join(dir, "history.jsonl"), []byte(`{"index":0}`+"\n"), 0o644))
	}
	must(t, os.Symlink("redis-mutex-partition/20250101T120000Z", filepath.Join(root, "latest")))
	camp := filepath.Join(root, "campaigns", "20250102T080000Z")
	must(t, os.MkdirAll(camp, 0o755))
	raw, _ := json.Marshal(sampleCampaign())
	must(t, os.WriteFile(filepath.Join(camp, "results.json"), raw, 0o644))
	mdir := filepath.Join(root, "margins", "redis-client-pause.stall", "20250103T080000Z")
	must(t, os.MkdirAll(mdir, 0o755))
	raw, _ = json.Marshal(marginResult())
	must(t, os.WriteFile(filepath.Join(mdir, "results.json"), raw, 0o644))
	// Symlinks that leave the store, relative and absolute.
	must(t, os.Symlink("../secret.txt", filepath.Join(root, "escape-rel")))
	must(t, os.Symlink(secret, filepath.Join(root, "escape-abs")))
	must(t, os.Symlink(base, filepath.Join(root, "escape-dir")))
	// An absolute symlink that stays inside the store is fine.
	must(t, os.Symlink(filepath.Join(root, "etcd-mutex-pause"), filepath.Join(root, "inside-abs")))
	return root, secret
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// get sends a request with a raw, unnormalised target, as an attacker would.
func get(h http.Handler, method, target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", nil)
	req.RequestURI = target
	u, err := url.ParseRequestURI(target) // no dot-segment resolution
	if err != nil {
		panic(err)
	}
	req.URL = u
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestServeIndexListsRunsNewestFirst(t *testing.T) {
	root, _ := testStore(t)
	rec := get(Serve(root), "GET", "/")
	if rec.Code != 200 {
		t.Fatalf("GET /: %d", rec.Code)
	}
	body := rec.Body.String()
	a := strings.Index(body, "20250101T120000Z")
	b := strings.Index(body, "20250101T110000Z")
	c := strings.Index(body, "20250101T100000Z")
	if a < 0 || b < 0 || c < 0 || !(a < b && b < c) {
		t.Errorf("runs not listed newest first (positions %d, %d, %d)", a, b, c)
	}
	for _, want := range []string{`data-status="invalid"`, `data-status="unknown"`, `data-status="valid"`,
		`href="redis-mutex-partition/20250101T100000Z/"`, `href="campaigns/20250102T080000Z/"`, "6 of 7 met", `href="latest/"`,
		`href="margins/redis-client-pause.stall/20250103T080000Z/"`, "holds 0.9 s, breaks 1.1 s (lease 1 s)"} {
		if !strings.Contains(body, want) {
			t.Errorf("index lacks %q", want)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
}

func TestServeFilesInsideTheStore(t *testing.T) {
	root, _ := testStore(t)
	h := Serve(root)
	for target, want := range map[string]string{
		"/redis-mutex-partition/20250101T100000Z/":              "run 20250101T100000Z",
		"/redis-mutex-partition/20250101T100000Z/index.html":    "run 20250101T100000Z",
		"/redis-mutex-partition/20250101T100000Z/history.jsonl": `{"index":0}`,
		"/latest/":               "run 20250101T120000Z",
		"/inside-abs/":           "20250101T110000Z",
		"/campaigns/":            "20250102T080000Z",
		"/redis-mutex-partition": "", // redirect, checked below
	} {
		rec := get(h, "GET", target)
		if want == "" {
			if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/redis-mutex-partition/" {
				t.Errorf("GET %s: %d to %q, want a redirect to the directory", target, rec.Code, rec.Header().Get("Location"))
			}
			continue
		}
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: %d %q, want 200 with %q", target, rec.Code, tail(rec.Body.String(), 200), want)
		}
	}
	if ct := get(h, "GET", "/redis-mutex-partition/20250101T100000Z/history.jsonl").Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("history.jsonl served as %q", ct)
	}
	head := get(h, "HEAD", "/")
	if head.Code != 200 || head.Body.Len() != 0 {
		t.Errorf("HEAD /: %d with %d bytes", head.Code, head.Body.Len())
	}
}

func TestServeRefusesTraversal(t *testing.T) {
	root, _ := testStore(t)
	h := Serve(root)
	for _, target := range []string{
		"/../secret.txt",
		"/../../etc/passwd",
		"/redis-mutex-partition/../../secret.txt",
		"/%2e%2e/secret.txt",
		"/%2e%2e%2fsecret.txt",
		"/..%2fsecret.txt",
		"/%252e%252e%252fsecret.txt",
		"/%252e%252e/secret.txt",
		`/..\secret.txt`,
		"/..%5csecret.txt",
		"/redis-mutex-partition%5c..%5c..%5csecret.txt",
		"/escape-rel",
		"/escape-abs",
		"/escape-dir/secret.txt",
		"/escape-dir/",
		"/./latest/",
		"/latest/../../secret.txt",
		"/x%00.html",
		"//etc/passwd",
	} {
		rec := get(h, "GET", target)
		if rec.Code == 200 || strings.Contains(rec.Body.String(), "TOP-SECRET") || strings.Contains(rec.Body.String(), "root:") {
			t.Errorf("GET %s: %d %q, want it refused", target, rec.Code, tail(rec.Body.String(), 120))
		}
	}
}

func TestServeIsReadOnly(t *testing.T) {
	root, _ := testStore(t)
	h := Serve(root)
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		rec := get(h, m, "/latest/index.html")
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d, Allow %q; want 405 with Allow: GET, HEAD", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

func TestServeMissingStore(t *testing.T) {
	h := Serve(filepath.Join(t.TempDir(), "nope"))
	if rec := get(h, "GET", "/"); rec.Code != http.StatusNotFound {
		t.Errorf("GET / of a missing store: %d, want 404", rec.Code)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
