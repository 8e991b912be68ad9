package printable

import (
	"io"
	"sync"
	"unicode/utf8"
)

// A Writer neutralises everything written through it (see String) before it
// reaches the writer under it. A character split across two writes is
// joined first, so a multi-byte character is never mistaken for bad bytes.
// It is safe for concurrent use; each Write reaches the writer under it in
// one piece.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	tail []byte // the start of a character that the next write completes
	buf  []byte
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write neutralises p and writes it on. It returns len(p) when the writer
// under it took everything, whatever the length of the escapes.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	data := p
	if len(w.tail) > 0 {
		data = append(w.tail, p...)
	}
	cut := len(data) - incomplete(data)
	w.buf = Append(w.buf[:0], data[:cut], `\`)
	w.tail = nil
	if cut < len(data) {
		w.tail = append(make([]byte, 0, utf8.UTFMax), data[cut:]...)
	}
	if len(w.buf) == 0 {
		return len(p), nil
	}
	if _, err := w.w.Write(w.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes out a character left incomplete by the last write, escaped
// as the bytes that it is.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.tail) == 0 {
		return nil
	}
	out := Append(nil, w.tail, `\`)
	w.tail = nil
	_, err := w.w.Write(out)
	return err
}

// Unwrap returns the writer under w, for code that must write its own
// control sequences (a progress bar on a terminal) or ask what it is.
func (w *Writer) Unwrap() io.Writer { return w.w }

// incomplete returns the length of the start of a UTF-8 character at the
// end of b that more bytes could complete, or 0.
func incomplete(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return len(b) - i
			}
			return 0
		}
	}
	return 0
}
