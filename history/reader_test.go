package history

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReadAcceptsAWellFormedHistory(t *testing.T) {
	in := `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k","ttl":1000000000}
{"index":1,"time":5,"process":-1,"type":"info","f":"start-partition","value":{"mode":"halves"}}

{"index":2,"time":10,"process":0,"type":"ok","f":"acquire","key":"k","token":0}
{"index":3,"time":12,"process":1,"type":"invoke","f":"acquire","key":"k"}
{"index":4,"time":20,"process":1,"type":"info","f":"acquire","key":"k","error":"timeout"}
`
	h, err := Read(strings.NewReader(in), "h.jsonl")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(h) != 5 {
		t.Fatalf("got %d ops, want 5", len(h))
	}
	if tok, ok := h[2].TokenValue(); !ok || tok != 0 {
		t.Errorf("token 0 must be kept as a real token, got %v %v", tok, ok)
	}
	if h[0].TTL != int64(time.Second) {
		t.Errorf("ttl = %d", h[0].TTL)
	}
	if got := h.Keys(); len(got) != 1 || got[0] != "k" {
		t.Errorf("Keys = %v", got)
	}
}

func TestReadNamesFileAndLineOfBadInput(t *testing.T) {
	ok0 := `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}` + "\n"
	cases := []struct {
		name, in, want string
	}{
		{"malformed JSON", ok0 + "{\"index\":1,\n", "h.jsonl:2: invalid JSON"},
		{"unknown type", ok0 + `{"index":1,"time":1,"process":0,"type":"done","f":"acquire"}`, `h.jsonl:2: unknown type "done"`},
		{"completion without invoke", `{"index":0,"time":0,"process":3,"type":"ok","f":"acquire"}`, "h.jsonl:1: ok acquire of process 3 has no outstanding invoke"},
		{"completion of another f", ok0 + `{"index":1,"time":1,"process":0,"type":"ok","f":"release"}`, "h.jsonl:2: ok release of process 0 completes an invoke of acquire"},
		{"two invokes outstanding", ok0 + `{"index":1,"time":1,"process":0,"type":"invoke","f":"release"}`, "h.jsonl:2: process 0 invoked release while its acquire is outstanding"},
		{"index not increasing", ok0 + `{"index":0,"time":1,"process":1,"type":"invoke","f":"acquire"}`, "h.jsonl:2: index 0 does not increase"},
		{"time going backwards", `{"index":0,"time":9,"process":0,"type":"invoke","f":"acquire"}` + "\n" + `{"index":1,"time":3,"process":0,"type":"ok","f":"acquire"}`, "h.jsonl:2: time 3 goes backwards"},
		{"missing process", `{"index":0,"time":0,"type":"invoke","f":"acquire"}`, `h.jsonl:1: missing field "process"`},
		{"unknown field", `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","tokn":3}`, `h.jsonl:1: invalid JSON: json: unknown field "tokn"`},
		{"op after info", ok0 + `{"index":1,"time":1,"process":0,"type":"info","f":"acquire"}` + "\n" + `{"index":2,"time":2,"process":0,"type":"invoke","f":"acquire"}`, "h.jsonl:3: process 0 issued an op after an info"},
		{"bad process", `{"index":0,"time":0,"process":-2,"type":"invoke","f":"acquire"}`, "h.jsonl:1: process -2"},
		{"two values on a line", `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire"} {}`, "h.jsonl:1: more than one JSON value"},
		{"blank lines still count", "\n\n" + `{"index":0,"time":0,"process":0,"type":"bogus","f":"acquire"}`, "h.jsonl:3: unknown type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(c.in), "h.jsonl")
			if err == nil {
				t.Fatalf("Read accepted bad input")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestRecorderStreamsWhatTheReaderAccepts(t *testing.T) {
	var buf bytes.Buffer
	r := NewRecorder(&buf, time.Now())
	ops := []Op{
		{Process: 0, Type: Invoke, F: FAcquire, Key: "k", TTL: int64(time.Second)},
		{Process: NemesisProcess, Type: Info, F: "start-pause"},
		{Process: 0, Type: Ok, F: FAcquire, Key: "k", Token: Tok(7)},
		{Process: 0, Type: Invoke, F: FRelease, Key: "k"},
	}
	for _, op := range ops {
		if _, err := r.Record(op); err != nil {
			t.Fatalf("Record(%v): %v", op, err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := Read(&buf, "recorded")
	if err != nil {
		t.Fatalf("reader refused recorder output: %v", err)
	}
	if len(h) != len(ops) {
		t.Fatalf("read %d ops, want %d", len(h), len(ops))
	}
	for i, op := range h {
		if op.Index != i {
			t.Errorf("op %d has index %d", i, op.Index)
		}
	}
	if tok, _ := h[2].TokenValue(); tok != 7 {
		t.Errorf("token = %d", tok)
	}
}

func TestRecorderRefusesWhatBreaksTheFormat(t *testing.T) {
	r := NewRecorder(&bytes.Buffer{}, time.Now())
	defer r.Close()
	if _, err := r.Record(Op{Process: 2, Type: Ok, F: FAcquire}); err == nil {
		t.Fatal("a completion without invoke was recorded")
	}
	if r.Len() != 0 {
		t.Errorf("refused op was kept")
	}
}

func TestRecorderFlushesWithoutClose(t *testing.T) {
	var buf syncBuffer
	r := NewRecorder(&buf, time.Now())
	defer r.Close()
	if _, err := r.Record(Op{Process: 0, Type: Invoke, F: FAcquire, Key: "k"}); err != nil {
		t.Fatal(err)
	}
	// The flusher must write the op out within FlushInterval; poll well
	// past it rather than asserting a time.
	for i := 0; i < 100 && buf.Len() == 0; i++ {
		time.Sleep(FlushInterval / 10)
	}
	if buf.Len() == 0 {
		t.Fatalf("nothing flushed after %s", 10*FlushInterval)
	}
}
