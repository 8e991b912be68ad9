package reports

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/store"
)

// spoof is what a terminal or a page would act on: an ANSI colour, a bell
// and a right-to-left override that makes "exe.txt" read "txt.exe".
const spoof = "red\x1b[31m bell\a rtl\u202etxt.exe"

// raw are the characters of spoof that must never reach a page as they are.
var raw = []string{"\x1b", "\a", "\u202e"}

// assertNeutralised fails when page carries a raw control or bidi character
// or does not show spoof's characters as their escapes.
func assertNeutralised(t *testing.T, what, page string) {
	t.Helper()
	for _, r := range raw {
		if i := strings.Index(page, r); i >= 0 {
			t.Errorf("%s carries a raw %q: …%q…", what, r, page[max(i-60, 0):min(i+60, len(page))])
		}
	}
	for _, esc := range []string{`red\x1b[31m`, `bell\x07`, `rtl\u202etxt.exe`} {
		if !strings.Contains(page, esc) {
			t.Errorf("%s does not show %s", what, esc)
		}
	}
}

func TestRunPageShowsControlAndBidiCharactersAsEscapes(t *testing.T) {
	h := overlapHistory(spoof, true) // the key
	for i := range h {
		if h[i].Error != "" {
			h[i].Error = spoof
		}
		h[i].Node = spoof
	}
	res := runResult(spoof, true) // the key, in the summary and the anomaly
	res.Plan.Nodes = []plan.Node{{Name: spoof}, {Name: "n2"}}
	res.Error = spoof
	res.Notes = append(res.Notes, store.Note{Kind: "x", Text: spoof})
	assertNeutralised(t, "run page", renderRun(t, res, h))
}

func TestCampaignPageShowsControlAndBidiCharactersAsEscapes(t *testing.T) {
	c := sampleCampaign()
	c.Name = spoof
	c.Cells[0].Name, c.Cells[0].Runs[0].Error = spoof, spoof
	assertNeutralised(t, "campaign page", renderCampaign(t, c))
}

// The linearizability view draws keys from its script's data: there the
// escape must reach the script as text, with its backslash escaped.
func TestLinearizabilityPageShowsTheKeyAsItsEscape(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteLinearizability(&buf, overlapHistory(spoof, true)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, r := range raw {
		if strings.Contains(page, r) {
			t.Errorf("linearizability page carries a raw %q", r)
		}
	}
	if !strings.Contains(page, `rtl\\u202etxt.exe`) || !strings.Contains(page, `red\\x1b[31m`) {
		t.Error("linearizability page does not carry the key escaped for its script")
	}
}

func TestStorePagesShowControlAndBidiCharactersAsEscapes(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cell", "run1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	res := runResult("k", false)
	res.Summary = spoof
	if err := store.WriteJSON(filepath.Join(dir, store.ResultsFile), res); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, spoof+".log"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/cell/run1/"} {
		rec := httptest.NewRecorder()
		Serve(root).ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		assertNeutralised(t, "GET "+path, rec.Body.String())
	}
}

func TestNeutraliseDoublesTheBackslashOnlyInsideScripts(t *testing.T) {
	page := "<p>a\u202eb</p><SCRIPT>var k = \"a\u202eb\";</SCRIPT><p>\x1b</p><script>\"\a\""
	want := `<p>a\u202eb</p><SCRIPT>var k = "a\\u202eb";</SCRIPT><p>\x1b</p><script>"\\x07"`
	if got := string(neutralise([]byte(page))); got != want {
		t.Errorf("neutralise:\n got %s\nwant %s", got, want)
	}
}
