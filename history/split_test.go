package history

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const splitSample = `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"a","ttl":5,"node":"n1"}
{"index":1,"time":1,"process":1,"type":"invoke","f":"acquire","key":"b"}
{"index":2,"time":2,"process":-1,"type":"info","f":"start-pause","value":{"targets":["n1"]}}
{"index":3,"time":3,"process":0,"type":"ok","f":"acquire","key":"a","token":7,"node":"n1"}
{"index":4,"time":4,"process":1,"type":"fail","f":"acquire","key":"b","error":"busy"}
{"index":5,"time":5,"process":0,"type":"invoke","f":"write","key":"a","token":7,"value":1}
{"index":7,"time":9,"process":0,"type":"ok","f":"write","key":"a","token":7,"value":1}
`

// TestSplitHoldsWhatTheReaderReads: each key's ops from a Split are the
// ops the reader returns for that key, without client values.
func TestSplitHoldsWhatTheReaderReads(t *testing.T) {
	h, err := Read(strings.NewReader(splitSample), "h.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ReadSplit(strings.NewReader(splitSample), "h.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != len(h) || s.End() != h.End() || s.Start() != 0 {
		t.Errorf("Len %d End %d Start %d, want %d %d 0", s.Len(), s.End(), s.Start(), len(h), h.End())
	}
	if !reflect.DeepEqual(s.Keys(), h.Keys()) {
		t.Errorf("keys %v, want %v", s.Keys(), h.Keys())
	}
	for i, k := range s.Keys() {
		var want History
		for _, o := range h {
			if !o.IsNemesis() && o.Key == k {
				o.Value = nil
				want = append(want, o)
			}
		}
		if got := s.Key(i); !reflect.DeepEqual(got, want) {
			t.Errorf("key %s:\n got %v\nwant %v", k, got, want)
		}
	}
	if n := s.Nemesis(); len(n) != 1 || string(n[0].Value) != `{"targets":["n1"]}` {
		t.Errorf("nemesis ops %v, want the pause with its value", n)
	}
	want := s.Key(0)
	if got := s.Take(0); !reflect.DeepEqual(got, want) {
		t.Errorf("Take gave %v, Key %v", got, want)
	}
	if len(s.Key(0)) != 0 {
		t.Error("Take kept the key's ops")
	}
}

func TestSplitKeepsTheReadersRules(t *testing.T) {
	s, err := ReadSplit(strings.NewReader(splitSample+`{"index":8,"time":9,"pro`), "h.jsonl")
	if !errors.Is(err, ErrTruncated) || s.Len() != 7 {
		t.Errorf("torn final line: %v, %d ops", err, s.Len())
	}
	_, err = ReadSplit(strings.NewReader(splitSample+`{"index":8,"time":9,"process":0,"type":"ok","f":"write","key":"a"}`), "h.jsonl")
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "h.jsonl:8:") {
		t.Errorf("bad last line: %v", err)
	}
}

// TestSplitGrowsAcrossBlocks reads more ops of one key than a block holds.
func TestSplitGrowsAcrossBlocks(t *testing.T) {
	var b strings.Builder
	n := 3*maxBlock + 5
	for i := 0; i < n; i++ {
		b.WriteString(`{"index":` + itoaTest(i) + `,"time":` + itoaTest(i) + `,"process":` + itoaTest(i) + `,"type":"invoke","f":"acquire","key":"k"}` + "\n")
	}
	s, err := ReadSplit(strings.NewReader(b.String()), "h.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	h := s.Key(0)
	if len(h) != n {
		t.Fatalf("%d ops, want %d", len(h), n)
	}
	for i, o := range h {
		if o.Index != i || o.Process != i {
			t.Fatalf("op %d is %v", i, o)
		}
	}
}
