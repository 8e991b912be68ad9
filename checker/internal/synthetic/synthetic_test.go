package synthetic

import (
	"bytes"
	"testing"

	"github.com/lockstorm/lockstorm/history"
)

// The generated histories must pass the history format's own validator.
func TestGeneratedHistoriesKeepTheFormat(t *testing.T) {
	for _, cfg := range []Config{
		{Records: 5000, Shape: Blocking, Tokens: true, Writes: true, Timeouts: 0.1, Crashes: 0.05, FaultEvery: 1e8},
		{Records: 5000, Shape: TryLock, Lease: 5e6, Overlaps: 3},
	} {
		h := Generate(cfg)
		if len(h) < cfg.Records {
			t.Errorf("%d records, want at least %d", len(h), cfg.Records)
		}
		v := history.NewValidator("synthetic")
		for _, o := range h {
			if err := v.Check(o); err != nil {
				t.Fatalf("%v: %v", o, err)
			}
		}
		var buf bytes.Buffer
		for _, o := range h[:10] {
			buf.WriteString(o.String() + "\n")
		}
		t.Logf("start of history:\n%s", buf.String())
	}
}

// A merged history of several keys keeps the format: every op of a key
// comes from that key's history, processes do not collide.
func TestMergedHistoriesKeepTheFormat(t *testing.T) {
	a := Generate(Config{Records: 3000, Shape: Blocking, Key: "a", Seed: 1, Tokens: true, FaultEvery: 1e8})
	b := Generate(Config{Records: 2000, Shape: TryLock, Key: "b", Seed: 2, FaultEvery: 1e8})
	h := Merge(a, b)
	nemB := 0
	for _, o := range b {
		if o.IsNemesis() {
			nemB++
		}
	}
	if len(h) != len(a)+len(b)-nemB {
		t.Fatalf("%d ops, want %d", len(h), len(a)+len(b)-nemB)
	}
	v := history.NewValidator("merged")
	procs := map[string]map[int]bool{"a": {}, "b": {}}
	for _, o := range h {
		if err := v.Check(o); err != nil {
			t.Fatalf("%v: %v", o, err)
		}
		if !o.IsNemesis() {
			procs[o.Key][o.Process] = true
		}
	}
	for p := range procs["a"] {
		if procs["b"][p] {
			t.Fatalf("process %d acts on both keys", p)
		}
	}
}
