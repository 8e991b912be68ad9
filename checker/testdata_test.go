package checker

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

// TestTestdataHistories replays every history in testdata/ and checks the
// verdict that its file name ends with: -valid, -invalid or -unknown. A
// history whose last line is torn is judged as a run that broke off. Words
// in the name pin the findings too (see namedFindings and namedVerdicts),
// and reading the file one key at a time must give the same report.
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
			var rules Rules
			var torn *history.TruncatedError
			if errors.As(err, &torn) {
				rules.BrokeOff, err = torn.Reason(), nil
			}
			if err != nil {
				t.Fatal(err)
			}
			rep := Check(h, Options{})
			v := Judge(rep.Results, rules)
			if v.Status != want {
				t.Errorf("verdict %s, want %s", v.Status, want)
			}
			assertNamedFinding(t, name, rep)
			assertNamedVerdict(t, name, v)
			assertSplitAgrees(t, f, rep)
			if v.Status != want || testing.Verbose() {
				t.Logf("verdict: %s", v.Summary)
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
	{"outlived-session", "mutual-exclusion", KindOutlivedSession},
	{"stale-release", "mutual-exclusion", KindStaleRelease},
	{"granted-early", "mutual-exclusion", KindGrantedEarly},
	{"bad-release", "mutual-exclusion", KindBadRelease},
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

// namedVerdicts maps words in a file name to what the verdict must say.
var namedVerdicts = []struct {
	word, says string
	incidents  int
}{
	{word: "one-incident", incidents: 1},
	{word: "two-incidents", incidents: 2},
	{word: "liveness-not-checked", says: "liveness was not checked"},
	{word: "nothing-decided", says: "no checker had anything to judge"},
	{word: "broke-off", says: "The run broke off (the last line of testdata/"},
}

func assertNamedVerdict(t *testing.T, name string, v Verdict) {
	t.Helper()
	for _, nv := range namedVerdicts {
		if !strings.Contains(name, nv.word) {
			continue
		}
		if nv.says != "" && !strings.Contains(v.Summary, nv.says) {
			t.Errorf("the name says %s, but the verdict reads %q", nv.word, v.Summary)
		}
		if nv.incidents > 0 && (v.IncidentCount != nv.incidents || len(v.Incidents) != nv.incidents) {
			t.Errorf("the name says %s, but the verdict counts %d (%d listed)", nv.word, v.IncidentCount, len(v.Incidents))
		}
	}
}

// assertSplitAgrees checks that the file read one key at a time gives
// the report of the whole history.
func assertSplitAgrees(t *testing.T, path string, rep Report) {
	t.Helper()
	s, err := history.ReadSplitFile(path)
	if err != nil && !errors.Is(err, history.ErrTruncated) {
		t.Fatal(err)
	}
	srep, err := CheckSplit(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(withoutMillis(srep), withoutMillis(rep)) {
		t.Errorf("the split history gives another report:\n split %+v\n whole %+v", withoutMillis(srep), withoutMillis(rep))
	}
}

func withoutMillis(rep Report) Report {
	rep.Results = append([]Result(nil), rep.Results...)
	for i := range rep.Results {
		rep.Results[i].Millis = 0
	}
	return rep
}
