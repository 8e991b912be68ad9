package history

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"strings"
	"syscall"
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
	if h[0].Lease != int64(time.Second) {
		t.Errorf("ttl = %d", h[0].Lease)
	}
	if got := h.Keys(); len(got) != 1 || got[0] != "k" {
		t.Errorf("Keys = %v", got)
	}
	if string(h[1].Value) != `{"mode":"halves"}` {
		t.Errorf("value = %s, want it as written", h[1].Value)
	}
}

// TestReadAcceptsWhatOtherToolsWrite covers inputs that are unusual but
// keep the format: they read as the plain history does.
func TestReadAcceptsWhatOtherToolsWrite(t *testing.T) {
	plain := `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"lock-a"}` + "\n" +
		`{"index":1,"time":1,"process":0,"type":"ok","f":"acquire","key":"lock-a"}` + "\n"
	want, err := Read(strings.NewReader(plain), "plain.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, in string }{
		{"a byte order mark", "\xef\xbb\xbf" + plain},
		{"CRLF line ends", strings.ReplaceAll(plain, "\n", "\r\n")},
		{"no newline after the last line", strings.TrimSuffix(plain, "\n")},
		{"escapes in strings", strings.ReplaceAll(plain, `"lock-a"`, `"lock-\u0061"`)},
		{"null optional fields", strings.ReplaceAll(plain, `"key":"lock-a"}`, `"key":"lock-a","token":null,"ttl":null,"node":null,"error":null}`)},
		{"spaces around everything", strings.ReplaceAll(strings.ReplaceAll(plain, ":", " : "), ",", " , ")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := Read(strings.NewReader(c.in), "h.jsonl")
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if len(h) != len(want) {
				t.Fatalf("%d ops, want %d", len(h), len(want))
			}
			for i := range h {
				if h[i].String() != want[i].String() || h[i].Token != nil {
					t.Errorf("op %d = %v, want %v", i, h[i], want[i])
				}
			}
		})
	}
}

func TestReadNamesFileAndLineOfBadInput(t *testing.T) {
	ok0 := `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}` + "\n"
	op1 := func(fields string) string {
		return ok0 + `{"index":1,"time":1,"process":0,"type":"ok","f":"acquire","key":"k",` + fields + "}\n"
	}
	cases := []struct {
		name, in, want string
	}{
		{"malformed JSON", ok0 + "{\"index\":1,\n", "h.jsonl:2: invalid JSON"},
		{"a torn line that is not the last", ok0 + `{"index":1,"ti` + "\n" + ok0, "h.jsonl:2: a field name: invalid JSON: a string is not closed: unexpected end of line"},
		{"unknown type", ok0 + `{"index":1,"time":1,"process":0,"type":"done","f":"acquire","key":"k"}`, `h.jsonl:2: unknown type "done"`},
		{"completion without invoke", `{"index":0,"time":0,"process":3,"type":"ok","f":"acquire","key":"k"}`, "h.jsonl:1: ok acquire of process 3 has no outstanding invoke"},
		{"completion of another f", ok0 + `{"index":1,"time":1,"process":0,"type":"ok","f":"release","key":"k"}`, "h.jsonl:2: ok release of process 0 completes an invoke of acquire"},
		{"completion on another key", ok0 + `{"index":1,"time":1,"process":0,"type":"ok","f":"acquire","key":"j"}`, `h.jsonl:2: ok acquire of process 0 is on key "j", but its invoke was on key "k"`},
		{"client op without key", `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire"}`, "h.jsonl:1: invoke acquire of process 0 has no key"},
		{"client op with an empty key", `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":""}`, "h.jsonl:1: invoke acquire of process 0 has no key"},
		{"two invokes outstanding", ok0 + `{"index":1,"time":1,"process":0,"type":"invoke","f":"release","key":"k"}`, "h.jsonl:2: process 0 invoked release while its acquire is outstanding"},
		{"index not increasing", ok0 + `{"index":0,"time":1,"process":1,"type":"invoke","f":"acquire","key":"k"}`, "h.jsonl:2: index 0 does not increase"},
		{"index not starting at 0", `{"index":5,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}`, "h.jsonl:1: index 5: a history starts at index 0"},
		{"time going backwards", `{"index":0,"time":9,"process":0,"type":"invoke","f":"acquire","key":"k"}` + "\n" + `{"index":1,"time":3,"process":0,"type":"ok","f":"acquire","key":"k"}`, "h.jsonl:2: time 3 goes backwards"},
		{"missing process", `{"index":0,"time":0,"type":"invoke","f":"acquire","key":"k"}`, `h.jsonl:1: missing field "process"`},
		{"null process", `{"index":0,"time":0,"process":null,"type":"invoke","f":"acquire","key":"k"}`, `h.jsonl:1: field "process" is null`},
		{"process as a string", `{"index":0,"time":0,"process":"p1","type":"invoke","f":"acquire","key":"k"}`, `h.jsonl:1: field "process" must be an integer`},
		{"unknown field", `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k","tokn":3}`, `h.jsonl:1: unknown field "tokn"`},
		{"duplicate field", op1(`"token":1,"token":9`), `h.jsonl:2: duplicate field "token"`},
		{"duplicate field spelt with an escape", op1(`"token":1,"t\u006fken":9`), `h.jsonl:2: duplicate field "token"`},
		{"key not UTF-8", "{\"index\":0,\"time\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"acquire\",\"key\":\"lock-\xff\"}", `h.jsonl:1: field "key": invalid UTF-8`},
		{"key with a lone surrogate", `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"lock-\ud800"}`, `h.jsonl:1: field "key": a lone UTF-16 surrogate`},
		{"node not UTF-8", op1("\"node\":\"n\xc3\""), `h.jsonl:2: field "node": invalid UTF-8`},
		{"error not UTF-8", op1("\"error\":\"caf\xe9\""), `h.jsonl:2: field "error": invalid UTF-8`},
		{"f not UTF-8", "{\"index\":0,\"time\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"acq\x80\",\"key\":\"k\"}", `h.jsonl:1: field "f": invalid UTF-8`},
		{"value not UTF-8", op1("\"value\":{\"who\":\"\xff\"}"), `h.jsonl:2: invalid UTF-8 in a string of the value`},
		{"fractional index", `{"index":0.0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}`, `h.jsonl:1: field "index": 0.0 is not an integer`},
		{"time with an exponent", `{"index":0,"time":1e9,"process":0,"type":"invoke","f":"acquire","key":"k"}`, `h.jsonl:1: field "time": 1e9 is not an integer`},
		{"token beyond 64 bits", op1(`"token":9223372036854775808`), `h.jsonl:2: field "token": 9223372036854775808 does not fit in a 64-bit integer`},
		{"a leading zero", `{"index":00,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}`, `h.jsonl:1: invalid JSON: want ',' or '}' after field "index"`},
		{"a control character in a string", "{\"index\":0,\"time\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"acquire\",\"key\":\"a\tb\"}", `h.jsonl:1: field "key": invalid JSON: control character 0x9`},
		{"not an object", `[0,0,0]`, "h.jsonl:1: invalid JSON: the line is not a JSON object"},
		{"a trailing comma", `{"index":0,}`, "h.jsonl:1: invalid JSON: want a field name"},
		{"op after info", ok0 + `{"index":1,"time":1,"process":0,"type":"info","f":"acquire","key":"k"}` + "\n" + `{"index":2,"time":2,"process":0,"type":"invoke","f":"acquire","key":"k"}`, "h.jsonl:3: process 0 issued an op after an info"},
		{"bad process", `{"index":0,"time":0,"process":-2,"type":"invoke","f":"acquire","key":"k"}`, "h.jsonl:1: process -2"},
		{"two values on a line", `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"} {}`, "h.jsonl:1: more than one JSON value"},
		{"blank lines still count", "\n\n" + `{"index":0,"time":0,"process":0,"type":"bogus","f":"acquire","key":"k"}`, "h.jsonl:3: unknown type"},
		{"an empty file", "", "h.jsonl:1: empty history: the file holds no operation"},
		{"a blank file", "\n  \n\r\n", "h.jsonl:1: empty history"},
		{"only a torn line", `{"index":0,"time":0,"process":0,"ty`, "h.jsonl:1: no complete operation: the only line is cut short or holds NUL bytes"},
		{"only NUL bytes", "\x00\x00\x00\x00", "h.jsonl:1: no complete operation"},
		{"blank lines, then a torn line", "\n\n" + `{"index":0,`, "h.jsonl:3: no complete operation"},
		{"a value nested too deep", op1(`"value":` + strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2)), "h.jsonl:2: invalid JSON: a value nested more than 10000 deep"},
		{"a line too long", ok0 + `{"index":1,"value":"` + strings.Repeat("x", maxLine) + `"}` + "\n", "h.jsonl:2: line longer than"},
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

// TestReadTakesATornFinalLineAsTheCrashPoint: a run killed mid-write
// leaves a last line without newline that cannot be read. The reader keeps
// what came before and says where the history broke off.
func TestReadTakesATornFinalLineAsTheCrashPoint(t *testing.T) {
	two := `{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}` + "\n" +
		`{"index":1,"time":1,"process":0,"type":"ok","f":"acquire","key":"k","token":1}` + "\n"
	third := `{"index":2,"time":2,"process":0,"type":"invoke","f":"release","key":"k","value":{"a":[1,"x"]}}`
	for cut := 1; cut < len(third); cut++ {
		h, err := Read(strings.NewReader(two+third[:cut]), "h.jsonl")
		var tr *TruncatedError
		if !errors.As(err, &tr) {
			t.Fatalf("cut at %d (%q): error %v, want a TruncatedError", cut, third[:cut], err)
		}
		if errors.Is(err, ErrMalformed) || !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d: a torn final line is a crash point, not bad input: %v", cut, err)
		}
		if tr.Line != 3 || tr.Ops != 2 || len(h) != 2 {
			t.Fatalf("cut at %d: line %d, %d ops (%d returned), want line 3 after 2 ops", cut, tr.Line, tr.Ops, len(h))
		}
	}
	if !strings.Contains((&TruncatedError{File: "h.jsonl", Line: 3, Ops: 2}).Error(), "h.jsonl:3: the final line is cut short") {
		t.Error("the error does not name the file and the line")
	}
	// A crash can also leave zero bytes where the last write went.
	if _, err := Read(strings.NewReader(two+"\x00\x00\x00\x00"), "h.jsonl"); !errors.Is(err, ErrTruncated) {
		t.Errorf("a zero-filled tail: %v, want a TruncatedError", err)
	}
	// A whole last line without newline is no crash point, and a last line
	// that is complete but wrong is bad input.
	if h, err := Read(strings.NewReader(two+third), "h.jsonl"); err != nil || len(h) != 3 {
		t.Errorf("a complete last line without newline: %d ops, %v", len(h), err)
	}
	if _, err := Read(strings.NewReader(two+`{"index":2,"time":2,"process":0,"type":"done","f":"release","key":"k"}`), "h.jsonl"); !errors.Is(err, ErrMalformed) {
		t.Errorf("a complete but malformed last line: %v, want ErrMalformed", err)
	}
}

func TestReadFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{dir: "a directory", fifo: "a FIFO"}
	if _, err := os.Stat("/dev/zero"); err == nil {
		paths["/dev/zero"] = "a character device"
	}
	for path, kind := range paths {
		done := make(chan error, 1)
		go func() {
			_, err := ReadFile(path)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), path+": ") || !strings.Contains(err.Error(), kind) {
				t.Errorf("ReadFile(%s) = %v, want ErrMalformed naming the path and %s", path, err, kind)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("ReadFile(%s) blocked", path)
		}
	}
}

func TestReadFileOfARegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.jsonl")
	var b strings.Builder
	b.WriteString(`{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}` + "\n")
	for i := 1; i < 5000; i++ {
		b.WriteString(`{"index":` + itoaTest(i) + `,"time":` + strconv.Itoa(i) + `,"process":-1,"type":"info","f":"tick"}` + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := ReadFile(path)
	if err != nil || len(h) != 5000 || h[4999].Index != 4999 {
		t.Fatalf("ReadFile: %d ops, %v", len(h), err)
	}
}

func TestRecorderStreamsWhatTheReaderAccepts(t *testing.T) {
	var buf bytes.Buffer
	r := NewRecorder(&buf, time.Now())
	ops := []Op{
		{Process: 0, Type: Invoke, F: FAcquire, Key: "k", Lease: int64(time.Second)},
		{Process: NemesisProcess, Type: Info, F: "start-pause"},
		{Process: 0, Type: Ok, F: FAcquire, Key: "k", Token: Tok(7)},
		{Process: 0, Type: Invoke, F: FRelease, Key: "k"},
		{Process: 0, Type: Fail, F: FRelease, Key: "k", Error: "bad \xff bytes"},
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
	if mem := r.History(); mem[4].Error != h[4].Error {
		t.Errorf("error in memory %q, in the file %q", mem[4].Error, h[4].Error)
	}
}

// lineWriter records every Write call.
type lineWriter struct{ writes [][]byte }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, append([]byte(nil), p...))
	return len(p), nil
}

func TestRecorderWritesWholeLinesOnly(t *testing.T) {
	w := &lineWriter{}
	r := NewRecorder(w, time.Now())
	long := strings.Repeat("x", 5000)
	for i := 0; i < 100; i++ { // about 500 kB: several flushes by size
		if _, err := r.Record(Op{Process: NemesisProcess, Type: Info, F: "start-pause", Error: long}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) < 2 {
		t.Fatalf("%d writes; the test wants several flushes", len(w.writes))
	}
	lines := 0
	for i, b := range w.writes {
		if len(b) == 0 || b[len(b)-1] != '\n' {
			t.Fatalf("write %d does not end a line: a crash after it would leave a torn line", i)
		}
		lines += bytes.Count(b, []byte("\n"))
	}
	if lines != 100 {
		t.Errorf("%d lines written, want 100", lines)
	}
}

func TestRecorderRefusesWhatBreaksTheFormat(t *testing.T) {
	r := NewRecorder(&bytes.Buffer{}, time.Now())
	defer r.Close()
	if _, err := r.Record(Op{Process: 2, Type: Ok, F: FAcquire, Key: "k"}); err == nil {
		t.Fatal("a completion without invoke was recorded")
	}
	if _, err := r.Record(Op{Process: 2, Type: Invoke, F: FAcquire}); err == nil {
		t.Fatal("a client op without key was recorded")
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
