package reports

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/store"
)

// runningRun adds to the store at root a run as the harness leaves it
// while it runs: the first results.json (unknown, did not finish, no
// ops), a history and a run.log whose lock (store.LockRun) is held until
// the returned file is closed.
func runningRun(t *testing.T, root string, started time.Time) (dir string, log *os.File) {
	t.Helper()
	dir = filepath.Join(root, "etcd-mutex-kill", "20250103T090000.000")
	must(t, os.MkdirAll(dir, 0o755))
	res := store.RunResult{ID: filepath.Base(dir), Cell: "etcd-mutex-kill", Status: checker.Unknown,
		Error: "the run did not finish", Started: started, FirstViolation: -1}
	raw, _ := json.Marshal(res)
	must(t, os.WriteFile(filepath.Join(dir, store.ResultsFile), raw, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, store.HistoryFile), []byte(`{"index":0}`+"\n"), 0o644))
	log, err := os.Create(filepath.Join(dir, store.LogFile))
	must(t, err)
	t.Cleanup(func() { log.Close() })
	must(t, store.LockRun(log))
	return dir, log
}

// indexRow returns the store index's table row of the run id.
func indexRow(t *testing.T, body, id string) string {
	t.Helper()
	for _, row := range strings.Split(body, "</tr>") {
		if i := strings.LastIndex(row, "<tr "); i >= 0 && strings.Contains(row[i:], id) {
			return row[i:]
		}
	}
	t.Fatalf("the index has no row for %s:\n%s", id, body)
	return ""
}

// A run whose harness holds the lock on its run.log is shown as running,
// with how long it has been going, in the store index and on its own
// page; once the lock is gone (the run ended or was killed) it is unknown
// again, with the reason its results give.
func TestServeShowsARunThatIsStillRunningAsRunning(t *testing.T) {
	root, _ := testStore(t)
	started := time.Date(2025, 1, 3, 9, 0, 0, 0, time.UTC)
	dir, log := runningRun(t, root, started)
	now := started.Add(2*time.Minute + 13*time.Second)
	h := &server{dir: root, now: func() time.Time { return now }}

	row := indexRow(t, get(h, "GET", "/").Body.String(), filepath.Base(dir))
	for _, want := range []string{`data-status="running"`, ">Running<", "still running, for 2m13s so far"} {
		if !strings.Contains(row, want) {
			t.Errorf("the running run's row lacks %q:\n%s", want, row)
		}
	}
	if strings.Contains(row, "Unknown") || strings.Contains(row, "<td>0</td>") {
		t.Errorf("the running run's row says unknown or 0 ops:\n%s", row)
	}
	page := get(h, "GET", "/etcd-mutex-kill/20250103T090000.000/").Body.String()
	for _, want := range []string{`class="banner running"`, "This run is still running, for 2m13s so far", "2025-01-03 09:00:00 UTC", store.HistoryFile} {
		if !strings.Contains(page, want) {
			t.Errorf("the running run's page lacks %q", want)
		}
	}
	// A finished run's page is its report, with no banner.
	if page := get(h, "GET", "/redis-mutex-partition/20250101T100000Z/").Body.String(); strings.Contains(page, "running") {
		t.Errorf("a finished run's page says running:\n%s", page)
	}

	must(t, log.Close())
	row = indexRow(t, get(h, "GET", "/").Body.String(), filepath.Base(dir))
	for _, want := range []string{`data-status="unknown"`, ">Unknown<", "the run did not finish"} {
		if !strings.Contains(row, want) {
			t.Errorf("the ended run's row lacks %q:\n%s", want, row)
		}
	}
	if page := get(h, "GET", "/etcd-mutex-kill/20250103T090000.000/").Body.String(); strings.Contains(page, "still running") {
		t.Error("the ended run's page still says it is running")
	}
}
