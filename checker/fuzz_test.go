package checker

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/history"
)

// FuzzCheck feeds arbitrary bytes through the reader and every checker:
// the lock checkers, the workload checkers, the verdict rules, the
// incidents and the linearizability drawing. Nothing may panic, and the
// history read one key at a time must give the same report as the whole.
// The seeds are the histories of testdata/. CI runs it for a bounded time:
//
//	go test ./checker -run '^$' -fuzz FuzzCheck -fuzztime 30s
func FuzzCheck(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil && len(b) < 4<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"index":0,"time":0,"process":-1,"type":"info","f":"liveness-probe","value":{"bound":-5}}` + "\n" +
		`{"index":1,"time":1,"process":3,"type":"invoke","f":"acquire","key":"k","ttl":9223372036854775807}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		h, err := history.Read(bytes.NewReader(data), "fuzz.jsonl")
		var rules Rules
		var torn *history.TruncatedError
		switch {
		case errors.As(err, &torn):
			rules.BrokeOff = torn.Reason()
		case err != nil:
			return
		}
		opts := Options{Budget: 2 * time.Second, Extra: []func(history.History) Result{
			func(h history.History) Result { return Inventory(h, 10) },
			func(h history.History) Result { return Payment(h, "lock") },
			func(h history.History) Result { return ScheduledJobs(h, time.Second) },
			LeaderElection,
		}}
		rep := Check(h, opts)
		v := Judge(rep.Results, rules)
		if v.Status != Valid && v.Status != Invalid && v.Status != Unknown {
			t.Fatalf("verdict %q", v.Status)
		}
		if v.Status == Valid && rules.BrokeOff != "" {
			t.Fatalf("a history that broke off was judged valid: %s", v.Summary)
		}
		for _, name := range Names {
			Judge(rep.Results, Rules{Only: []string{name}})
		}
		_ = Visualize(h, io.Discard, VisualizeOptions{Budget: time.Second})

		s, err := history.ReadSplit(bytes.NewReader(data), "fuzz.jsonl")
		if err != nil && !errors.Is(err, history.ErrTruncated) {
			t.Fatalf("the split reader refused what the reader took: %v", err)
		}
		srep, err := CheckSplit(s, Options{Budget: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Results[1].Status == Unknown && !rep.Results[1].Skipped {
			return // a search that ran out of time may stop elsewhere the second time
		}
		whole := withoutMillis(Report{Results: rep.Results[:5]})
		whole.Status = Judge(whole.Results, Rules{}).Status
		if got := withoutMillis(srep); !reflect.DeepEqual(got, whole) {
			t.Fatalf("split and whole reports differ:\n split %+v\n whole %+v", got, whole)
		}
	})
}
