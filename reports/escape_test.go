package reports

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/plan"
	"github.com/lockstorm/lockstorm/reports/reporttest"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/store"
)

// evil is what a hostile history, log or config could carry.
const evil = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`

// assertEscaped fails when page carries evil unescaped anywhere.
func assertEscaped(t *testing.T, what, page string) {
	t.Helper()
	for _, raw := range []string{"<script>alert", "<img src=x", `"'><img`} {
		if strings.Contains(page, raw) {
			i := strings.Index(page, raw)
			t.Errorf("%s contains raw %q: …%s…", what, raw, page[max(i-80, 0):min(i+80, len(page))])
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("%s does not show the hostile value escaped at all", what)
	}
}

func hostileRun() (store.RunResult, history.History) {
	h := overlapHistory(evil, true)
	for i := range h {
		if h[i].Type == history.Fail || h[i].Type == history.Info {
			h[i].Error = evil
		}
		if h[i].IsNemesis() {
			h[i].F = strings.Replace(h[i].F, "partition", "part"+evil, 1)
			h[i].Value = json.RawMessage(`{"x":` + mustQuote(evil) + `}`)
		}
	}
	res := runResult(evil, true)
	res.Cell, res.ID, res.Command, res.Summary = evil, evil, "lockstorm run "+evil, evil
	res.Plan.Options = map[string]string{evil: evil}
	res.Plan.Nemeses = []string{evil}
	res.Plan.Client = evil
	res.Notes = []store.Note{{Kind: evil, Text: evil}}
	res.Error = evil
	res.Plan.Schedule.Events = append(res.Plan.Schedule.Events, plan.Event{Nemesis: evil, Mode: evil,
		Targets: []string{evil}, Params: map[string]string{evil: evil}})
	for i := range res.Results {
		res.Results[i].Checker = evil
		res.Results[i].Summary = evil
		res.Results[i].Details = json.RawMessage(`{` + mustQuote(evil) + `:` + mustQuote(evil) + `}`)
		for j := range res.Results[i].Anomalies {
			a := &res.Results[i].Anomalies[j]
			a.Kind, a.Explanation, a.Faults = evil, evil, []string{evil}
		}
	}
	res.Results = append(res.Results, hostileContention())
	return res, h
}

func mustQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestRunPageEscapesHostileValues(t *testing.T) {
	res, h := hostileRun()
	page := renderRun(t, res, h)
	assertEscaped(t, "run page", page)
	reporttest.AssertAnchorsResolve(t, page)
}

func TestCampaignPageEscapesHostileValues(t *testing.T) {
	c := sampleCampaign()
	c.Name, c.ID, c.Shard = evil, evil, evil
	for i := range c.Cells {
		cell := &c.Cells[i]
		cell.Name, cell.Target, cell.Workload, cell.Nemesis, cell.Variant = evil, evil, evil, evil, evil
		cell.Description, cell.Outcome = evil, evil
		for j := range cell.Runs {
			cell.Runs[j].Summary, cell.Runs[j].Error = evil, evil
			cell.Runs[j].Dir = `x/"><script>alert(1)</script>`
		}
	}
	page := renderCampaign(t, c)
	assertEscaped(t, "campaign page", page)
	if strings.Contains(page, `href="javascript:`) {
		t.Error("campaign page has a javascript: link")
	}
}

func TestLinearizabilityPageEscapes(t *testing.T) {
	_, h := hostileRun()
	var buf bytes.Buffer
	if err := WriteLinearizability(&buf, h); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script>alert") {
		t.Error("linearizability page contains a raw script from the history")
	}
}

func TestStoreIndexEscapesHostileValues(t *testing.T) {
	root := t.TempDir()
	res, _ := hostileRun()
	dir := filepath.Join(root, "cell", "run1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(res)
	if err := os.WriteFile(filepath.Join(dir, "results.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	// A file whose name is hostile, in a directory without index.html.
	if err := os.WriteFile(filepath.Join(dir, `<script>alert(1)<img src=x onerror=alert(2)>".log`), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := Serve(root)
	for _, path := range []string{"/", "/cell/run1/"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
		body := rec.Body.String()
		for _, raw := range []string{"<script>alert", "<img src=x"} {
			if strings.Contains(body, raw) {
				t.Errorf("GET %s contains raw %q", path, raw)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)") {
			t.Errorf("GET %s does not show the hostile value escaped", path)
		}
	}
}
