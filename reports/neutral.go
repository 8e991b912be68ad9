package reports

import (
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/internal/printable"
)

// writePage renders the template tmpl with data, neutralises the page and
// writes it to w. Every page of the reports goes through it, so that no
// value from a history, a result or a file name reaches a browser with a
// control or bidirectional character in it, whatever the template does.
func writePage(w io.Writer, tmpl string, data any) error {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, tmpl, data); err != nil {
		return fmt.Errorf("render %s: %w", tmpl, err)
	}
	if _, err := w.Write(neutralise(buf.Bytes())); err != nil {
		return fmt.Errorf("write %s: %w", tmpl, err)
	}
	return nil
}

// neutralise returns page with every character that printable escapes
// replaced by its escape (printable.Append). Inside <script> elements the
// escape gets a second backslash: a script would read \u202e in a string
// as the character itself, and \\u202e as the six characters shown.
func neutralise(page []byte) []byte {
	out := make([]byte, 0, len(page)+len(page)/64)
	for {
		i := indexTag(page, "<script")
		if i < 0 {
			return printable.Append(out, page, `\`)
		}
		j := indexTag(page[i:], "</script")
		if j < 0 {
			j = len(page) - i
		}
		out = printable.Append(out, page[:i], `\`)
		out = printable.Append(out, page[i:i+j], `\\`)
		page = page[i+j:]
	}
}

// indexTag returns the index of the first tag in b, in any case, or -1.
func indexTag(b []byte, tag string) int {
	for i := 0; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		if len(b)-i >= len(tag) && bytes.EqualFold(b[i:i+len(tag)], []byte(tag)) {
			return i
		}
	}
	return -1
}

// shownStrings returns h with its keys and op names, the strings of a
// history that the linearizability view draws, neutralised (printable).
// That view carries them in its script's data as JSON, in which a control
// character would be an escape that the script turns back into the
// character; neutralised first, it is shown as its escape. h itself is
// returned when nothing needs it.
func shownStrings(h history.History) history.History {
	dirty := slices.IndexFunc(h, func(op history.Op) bool {
		return printable.String(op.Key) != op.Key || printable.String(op.F) != op.F
	})
	if dirty < 0 {
		return h
	}
	out := slices.Clone(h)
	for i := range out {
		out[i].Key, out[i].F = printable.String(out[i].Key), printable.String(out[i].F)
	}
	return out
}
