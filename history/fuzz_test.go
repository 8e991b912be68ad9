package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the reader: it must never panic; every
// error it returns about content must name the file and wrap ErrMalformed
// or ErrTruncated; and every line it accepts must decode to the same op
// with encoding/json, so that the purpose-built parser reads exactly what
// a JSON decoder reads, only more strictly.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"k"}` + "\n" +
		`{"index":1,"time":1,"process":0,"type":"ok","f":"acquire","key":"k","token":1}`))
	f.Add([]byte(`{"index":0,"time":0,"process":-1,"type":"info","f":"start-pause","value":[1,2,{"a":"\u00e9"}]}`))
	f.Add([]byte(`{"index":0,"time":0,"process":0,"type":"invoke","f":"acquire","key":"a\u0041\n","ttl":null}` + "\n" + `{"index":3,"ti`))
	f.Add([]byte("{\"index\":1e400}"))
	f.Add([]byte("\n\n\x00"))
	f.Add([]byte("\xef\xbb\xbf{\"index\":0,\"time\":0,\"process\":-1,\"type\":\"info\",\"f\":\"x\"}\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Read(bytes.NewReader(data), "fuzz.jsonl")
		sameAsNext(t, data, h, err)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTruncated) {
				t.Fatalf("error wraps neither ErrMalformed nor ErrTruncated: %v", err)
			}
			if !bytes.HasPrefix([]byte(err.Error()), []byte("fuzz.jsonl:")) {
				t.Fatalf("error does not name the file: %v", err)
			}
			if errors.Is(err, ErrMalformed) {
				return
			}
		}
		sameAsEncodingJSON(t, data, h)
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
		if len(h) == 0 {
			return
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

// sameAsEncodingJSON decodes the accepted lines of data with encoding/json
// and compares them with what the reader returned.
func sameAsEncodingJSON(t *testing.T, data []byte, h History) {
	t.Helper()
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	i := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if i == len(h) {
			return // the torn final line
		}
		var op Op
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&op); err != nil {
			t.Fatalf("the reader accepted %q, which encoding/json refuses: %v", line, err)
		}
		if !reflect.DeepEqual(op, h[i]) {
			t.Fatalf("line %q: reader %#v, encoding/json %#v", line, h[i], op)
		}
		i++
	}
}

// sameAsNext reads data op by op with Next, which decodes on the caller's
// goroutine, and compares with what Read, which decodes ahead, returned.
func sameAsNext(t *testing.T, data []byte, h History, err error) {
	t.Helper()
	r := NewReader(bytes.NewReader(data), "fuzz.jsonl")
	var got History
	var op Op
	var nerr error
	for {
		if nerr = r.Next(&op); nerr != nil {
			break
		}
		got = append(got, op)
	}
	if nerr == io.EOF {
		nerr = nil
	}
	if fmt.Sprint(nerr) != fmt.Sprint(err) || !reflect.DeepEqual(got, h) && len(got)+len(h) > 0 {
		t.Fatalf("Next read %d ops and %v; Read %d ops and %v", len(got), nerr, len(h), err)
	}
}
