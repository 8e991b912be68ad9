package checker

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/lockstorm/lockstorm/checker/internal/synthetic"
	"github.com/lockstorm/lockstorm/history"
)

// Benchmarks of `lockstorm check FILE` end to end, and of plain porcupine
// on the same files in the same run, so that the ratio is measured:
//
//	go test ./checker -run '^$' -bench 'CheckFile|Porcupine' -benchtime 1x -count 3
//
// BenchmarkCheckFile does what the check command does for a bare file:
// read and validate it one key at a time (history.ReadSplitFile), run
// every lock checker (CheckSplit), judge, and encode the results as
// results.json. BenchmarkPorcupine hands the same file's acquires and
// releases, per key, to porcupine with the plain model of the lock's rules
// (refModel), as a checker without the simplification and cuts would.
// Both report the peak of the heap, sampled every few milliseconds; the
// peak RSS of the command itself is measured with /usr/bin/time -v on
// files written by: go test ./checker -run TestWriteSynthetic -synthetic-dir DIR

var syntheticDir = flag.String("synthetic-dir", "", "TestWriteSynthetic writes the benchmark histories here")

// benchHistories are the histories of the file benchmarks: single-key
// blocking locks of several sizes, and a 10-key history of 10M ops.
// TestWriteSynthetic writes them all (about 1.2 GB).
var benchHistories = []struct {
	name string
	gen  func() history.History
}{
	{"blocking-2k", func() history.History { return synthetic.Generate(shapeConfig("blocking", 2_000)) }},
	{"blocking-5k", func() history.History { return synthetic.Generate(shapeConfig("blocking", 5_000)) }},
	{"blocking-100k", func() history.History { return synthetic.Generate(shapeConfig("blocking", 100_000)) }},
	{"blocking-200k", func() history.History { return synthetic.Generate(shapeConfig("blocking", 200_000)) }},
	{"blocking-400k", func() history.History { return synthetic.Generate(shapeConfig("blocking", 400_000)) }},
	{"blocking-1M", func() history.History { return synthetic.Generate(shapeConfig("blocking", 1_000_000)) }},
	{"multikey-10M", func() history.History { return multiKey(10, 1_000_000) }},
}

// multiKey merges keys blocking-lock histories of n records each.
func multiKey(keys, n int) history.History {
	hs := make([]history.History, keys)
	for k := range hs {
		cfg := shapeConfig("blocking", n)
		cfg.Seed, cfg.Key = uint64(k+1), fmt.Sprintf("lock-%d", k)
		hs[k] = synthetic.Generate(cfg)
	}
	return synthetic.Merge(hs...)
}

var (
	benchDirOnce sync.Once
	benchDir     string
	benchPaths   sync.Map // name -> path
)

// benchFile returns the path of the named benchmark history, writing it
// the first time it is asked for.
func benchFile(b *testing.B, name string) string {
	b.Helper()
	if p, ok := benchPaths.Load(name); ok {
		return p.(string)
	}
	benchDirOnce.Do(func() {
		var err error
		if benchDir, err = os.MkdirTemp("", "lockstorm-bench-"); err != nil {
			b.Fatal(err)
		}
	})
	for _, bh := range benchHistories {
		if bh.name == name {
			path := filepath.Join(benchDir, name+".jsonl")
			if err := writeJSONL(path, bh.gen()); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			debug.FreeOSMemory()
			benchPaths.Store(name, path)
			return path
		}
	}
	b.Fatalf("no benchmark history %s", name)
	return ""
}

func writeJSONL(path string, h history.History) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, o := range h {
		line, err := json.Marshal(o)
		if err != nil {
			return err
		}
		w.Write(line)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// TestMain removes the benchmark histories after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// TestWriteSynthetic writes the benchmark histories into -synthetic-dir,
// for measuring the check command with /usr/bin/time -v.
func TestWriteSynthetic(t *testing.T) {
	if *syntheticDir == "" {
		t.Skip("no -synthetic-dir")
	}
	for _, bh := range benchHistories {
		path := filepath.Join(*syntheticDir, bh.name+".jsonl")
		if err := writeJSONL(path, bh.gen()); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
	}
}

// peakHeap samples the heap until stop is called and returns its peak in
// MB.
func peakHeap() (stop func() float64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		<-finished
		return float64(peak) / (1 << 20)
	}
}

func BenchmarkCheckFile(b *testing.B) {
	for _, bh := range benchHistories {
		b.Run(bh.name, func(b *testing.B) {
			path := benchFile(b, bh.name)
			st, _ := os.Stat(path)
			b.SetBytes(st.Size())
			defer debug.SetGCPercent(debug.SetGCPercent(50)) // as the check command does
			runtime.GC()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				stop := peakHeap()
				begin := time.Now()
				s, err := history.ReadSplitFile(path)
				if err != nil {
					b.Fatal(err)
				}
				read := time.Since(begin)
				rep, err := CheckSplit(s, Options{})
				if err != nil {
					b.Fatal(err)
				}
				v := Judge(rep.Results, Rules{})
				if v.Status != Valid {
					b.Fatalf("verdict %s: %s", v.Status, v.Summary)
				}
				out := struct {
					Status  Status   `json:"status"`
					Summary string   `json:"summary"`
					Results []Result `json:"results"`
				}{v.Status, v.Summary, rep.Results}
				if err := json.NewEncoder(io.Discard).Encode(out); err != nil {
					b.Fatal(err)
				}
				peak := stop()
				if i == 0 {
					b.ReportMetric(float64(read.Milliseconds()), "read-ms")
					b.ReportMetric(peak, "peak-heap-MB")
					b.ReportMetric(float64(s.Len()), "ops")
				}
			}
		})
	}
}

// BenchmarkPorcupine checks the same files with porcupine alone, two ways.
// plain-model hands porcupine every acquire and release of a key with the
// plain model of the lock's rules (refModel: indeterminate operations are
// nondeterministic and never return), as a checker without lockstorm's
// simplification would; on these blocking-lock histories it needs 5.8 GB
// at 5k records, so it stops there. simplified-no-cuts hands porcupine the
// simplified operations (lockOps, lockModel) as one piece per key: what
// the cuts add.
func BenchmarkPorcupine(b *testing.B) {
	variants := []struct {
		name  string
		sizes []string
		run   func(h history.History) porcupine.CheckResult
	}{
		{"plain-model", []string{"blocking-2k", "blocking-5k"}, func(h history.History) porcupine.CheckResult {
			res := porcupine.Ok
			for _, ops := range plainOps(h) {
				if r := porcupine.CheckOperationsTimeout(refModel(), ops, 0); r != porcupine.Ok {
					res = r
				}
			}
			return res
		}},
		{"simplified-no-cuts", []string{"blocking-100k", "blocking-200k", "blocking-400k"}, func(h history.History) porcupine.CheckResult {
			res := porcupine.Ok
			for _, ko := range lockOps(h, pairLinks(h)) {
				if r := porcupine.CheckOperationsTimeout(lockModel(freeState()), porcOps(ko.ops, nil), 0); r != porcupine.Ok {
					res = r
				}
			}
			return res
		}},
	}
	for _, v := range variants {
		for _, name := range v.sizes {
			b.Run(v.name+"/"+name, func(b *testing.B) {
				h, err := history.ReadFile(benchFile(b, name))
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					stop := peakHeap()
					res := v.run(h)
					peak := stop()
					if res != porcupine.Ok {
						b.Fatalf("porcupine says %v", res)
					}
					if i == 0 {
						b.ReportMetric(peak, "peak-heap-MB")
					}
				}
			})
		}
	}
}

// plainOps turns every key's acquires and releases into porcupine
// operations for the plain model, as refCheck does.
func plainOps(h history.History) [][]porcupine.Operation {
	link := pairLinks(h)
	byKey := map[string][]porcupine.Operation{}
	var keys []string
	for i, o := range h {
		if o.IsNemesis() || o.Type != history.Invoke || (o.F != acq && o.F != rel) {
			continue
		}
		typ, j := completion(h, link, i)
		if typ == history.Fail {
			continue
		}
		in := refInput{acquire: o.F == acq, indeterminate: typ == history.Info, proc: o.Process,
			invoked: o.Time, lease: o.Lease, ret: never}
		if j >= 0 && typ != history.Info {
			in.ret = h[j].Time
			if t, ok := h[j].TokenValue(); ok && in.acquire {
				in.tok, in.hasTok = t, true
			}
		}
		if _, ok := byKey[o.Key]; !ok {
			keys = append(keys, o.Key)
		}
		byKey[o.Key] = append(byKey[o.Key], porcupine.Operation{ClientId: o.Process, Input: in, Call: o.Time, Return: in.ret})
	}
	out := make([][]porcupine.Operation, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out
}
