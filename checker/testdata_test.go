package checker

import (
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
