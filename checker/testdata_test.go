package checker

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

// TestTestdataHistories replays every history in testdata/ and checks the
// overall verdict that its file name ends with: -valid, -invalid or
// -unknown.
func TestTestdataHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no histories in testdata")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		var want Status
		switch {
		case strings.HasSuffix(name, "-invalid"):
			want = Invalid
		case strings.HasSuffix(name, "-valid"):
			want = Valid
		case strings.HasSuffix(name, "-unknown"):
			want = Unknown
		default:
			t.Errorf("%s: the name does not end with -valid, -invalid or -unknown", f)
			continue
		}
		t.Run(name, func(t *testing.T) {
			h, err := history.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rep := Check(h, Options{})
			if rep.Status != want {
				t.Errorf("verdict %s, want %s", rep.Status, want)
			}
			assertNamedFinding(t, name, rep)
			if rep.Status != want || testing.Verbose() {
				for _, r := range rep.Results {
					t.Logf("%s: %s: %s", r.Checker, r.Status, r.Summary)
					for _, a := range r.Anomalies {
						t.Logf("    %s %v: %s", a.Kind, a.Faults, a.Explanation)
					}
				}
			}
		})
	}
}

// namedFindings maps words in a testdata file name to what the checkers
// must report for it, so that a recorded history pins down the class of
// its anomaly, not only the verdict.
var namedFindings = []struct {
	word, checker, kind string
}{
	{"outlived-lease", "mutual-exclusion", KindOutlivedLease},
	{"granted-early", "mutual-exclusion", KindGrantedEarly},
	{"stuck-lock", "liveness", KindStuckLock},
	{"not-linearizable", "linearizability", KindNotLinearizable},
	{"token-regression", "fencing", KindTokenRegression},
	{"stale-write", "fencing", KindStaleWrite},
}

func assertNamedFinding(t *testing.T, name string, rep Report) {
	t.Helper()
	for _, nf := range namedFindings {
		if !strings.Contains(name, nf.word) {
			continue
		}
		found := false
		for _, r := range rep.Results {
			for _, a := range r.Anomalies {
				found = found || r.Checker == nf.checker && a.Kind == nf.kind
			}
		}
		if !found {
			t.Errorf("the name says %s, but %s reported no %s anomaly", nf.word, nf.checker, nf.kind)
		}
	}
	if strings.Contains(name, "stale-write-rejected") {
		for _, r := range rep.Results {
			var d FencingDetails
			if r.Checker == "fencing" && (json.Unmarshal(r.Details, &d) != nil || d.StaleRejected == 0 || d.StaleAccepted != 0) {
				t.Errorf("the name says fencing rejected a stale write: %+v", d)
			}
		}
	}
}
