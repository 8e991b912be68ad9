package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the reader: it must never panic, and
// every error it returns about content must name the file and wrap
// ErrMalformed.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}` + "\n" +
		`{"index":1,"time":1,"process":0,"type":"ok","f":"acquire","key":"k","token":1}`))
	f.Add([]byte(`{"index":0,"time":0,"process":-1,"type":"info","f":"start-pause","value":[1,2]}`))
	f.Add([]byte("{\"index\":1e400}"))
	f.Add([]byte("\n\n\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Read(bytes.NewReader(data), "fuzz.jsonl")
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			if !bytes.HasPrefix([]byte(err.Error()), []byte("fuzz.jsonl:")) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		// Whatever was accepted must be accepted again after a round trip
		// through the encoder.
		var buf bytes.Buffer
		for _, op := range h {
			b, err := json.Marshal(op)
			if err != nil {
				t.Fatalf("encode accepted op: %v", err)
			}
			buf.Write(append(b, '\n'))
		}
		h2, err := Read(&buf, "again.jsonl")
		if err != nil {
			t.Fatalf("round trip refused: %v", err)
		}
		if len(h2) != len(h) {
			t.Fatalf("round trip kept %d of %d ops", len(h2), len(h))
		}
	})
}
