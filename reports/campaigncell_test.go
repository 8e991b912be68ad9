package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// twinStore lays out a store with the runs of a plain and a fenced
// campaign cell, which share their store directory, and a run of its own
// in that directory too.
func twinStore(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	runs := []struct {
		id, cell string
	}{
		{"20250102T080000.000", "etcd-client-pause"},
		{"20250102T080100.000", "etcd-client-pause-fenced"},
		{"20250102T090000.000", ""},
	}
	for i, r := range runs {
		dir := filepath.Join(root, "etcd-mutex-client-pause", r.id)
		must(t, os.MkdirAll(dir, 0o755))
		res := store.RunResult{ID: r.id, Cell: "etcd-mutex-client-pause", Status: checker.Valid, Summary: "summary of " + r.id,
			Started: time.Date(2025, 1, 2, 8, i, 0, 0, time.UTC), FirstViolation: -1}
		if r.cell != "" {
			res.Campaign = &store.CampaignOf{Name: "default", ID: "20250102T075900.000", Cell: r.cell}
		}
		raw, _ := json.Marshal(res)
		must(t, os.WriteFile(filepath.Join(dir, store.ResultsFile), raw, 0o644))
	}
	return root
}

// The store's index names the campaign cell of each run, so that a plain
// and a fenced cell, whose runs share a store directory, can be told
// apart (issue 32).
func TestServeIndexNamesTheCampaignCell(t *testing.T) {
	body := get(Serve(twinStore(t)), "GET", "/").Body.String()
	for _, want := range []string{
		`<a href="etcd-mutex-client-pause/20250102T080000.000/" class="campaign-cell" data-cell="etcd-client-pause">etcd-client-pause</a> <span class="muted small">of campaign default</span>`,
		`<a href="etcd-mutex-client-pause/20250102T080100.000/" class="campaign-cell" data-cell="etcd-client-pause-fenced">etcd-client-pause-fenced</a> <span class="muted small">of campaign default</span>`,
		`<a href="etcd-mutex-client-pause/20250102T090000.000/">etcd-mutex-client-pause</a>`, // a run of its own
	} {
		if !strings.Contains(body, want) {
			t.Errorf("store index lacks %s", want)
		}
	}
}

// The listing of a store directory names the campaign cell of each run
// in it.
func TestServeCellDirectoryNamesTheCampaignCell(t *testing.T) {
	body := get(Serve(twinStore(t)), "GET", "/etcd-mutex-client-pause/").Body.String()
	for _, want := range []string{
		`20250102T080000.000/</a> <span class="muted small campaign-cell">cell etcd-client-pause of campaign default</span>`,
		`20250102T080100.000/</a> <span class="muted small campaign-cell">cell etcd-client-pause-fenced of campaign default</span>`,
		`20250102T090000.000/</a></td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("directory listing lacks %s:\n%s", want, body)
		}
	}
}

// A run page's header says which campaign cell the run was made for; the
// store directory it shares with other cells is in its facts.
func TestRunPageNamesTheCampaignCell(t *testing.T) {
	res := runResult("lock-a", false)
	res.Cell = "etcd-mutex-client-pause"
	var plain bytes.Buffer
	if err := WriteRun(&plain, res, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), `id="campaign-cell"`) {
		t.Error("a run of its own says it belongs to a campaign")
	}
	res.Campaign = &store.CampaignOf{Name: "default", ID: "20250102T075900.000", Cell: "etcd-client-pause-fenced"}
	var buf bytes.Buffer
	if err := WriteRun(&buf, res, nil); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		`<title>` + statusWord(res.Status) + ` · etcd-client-pause-fenced · lockstorm</title>`,
		`cell <b>etcd-client-pause-fenced</b> of campaign <b>default</b> <span class="muted mono small">20250102T075900.000</span>`,
		`<li>cell <b>etcd-client-pause-fenced</b></li><li>directory <b>etcd-mutex-client-pause</b></li>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("run page lacks %s", want)
		}
	}
	verdict := strings.Index(page, `id="verdict"`)
	if at := strings.Index(page, `id="campaign-cell"`); at < verdict || at > strings.Index(page, `class="summary"`) {
		t.Error("the campaign cell is not in the header, before the summary")
	}
}
