package printable

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStringEscapesWhatATerminalOrPageWouldInterpret(t *testing.T) {
	for in, want := range map[string]string{
		"plain key":                  "plain key",
		"line one\nline two\tcol":    "line one\nline two\tcol",
		"red \x1b[31mRED\x1b[0m":     `red \x1b[31mRED\x1b[0m`,
		"bell\a back\b cr\r nul\x00": `bell\x07 back\x08 cr\x0d nul\x00`,
		"del\x7f":                    `del\x7f`,
		"csi \u009b2J":               `csi \u009b2J`,
		"evil\u202egpj.exe":          `evil\u202egpj.exe`,
		"\u202a\u202b\u202c\u202d":   `\u202a\u202b\u202c\u202d`,
		"\u2066\u2067\u2068\u2069":   `\u2066\u2067\u2068\u2069`,
		"\u200e\u200f\u061c":         `\u200e\u200f\u061c`,
		"bad \xff\xfe utf8 \xe2\x82": `bad \xff\xfe utf8 \xe2\x82`,
		"ünïcødé → ✓ 锁":              "ünïcødé → ✓ 锁",
		"\uFFFD is a real character": "\uFFFD is a real character",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEscapedTextHasNothingLeftToInterpret(t *testing.T) {
	var all []byte
	for b := 0; b < 256; b++ {
		all = append(all, byte(b))
	}
	for r := rune(0x80); r < 0x3000; r++ {
		all = utf8.AppendRune(all, r)
	}
	out := String(string(all))
	if !utf8.ValidString(out) {
		t.Error("the escaped text is not UTF-8")
	}
	for _, r := range out {
		if Needs(r) {
			t.Errorf("%U survived", r)
		}
	}
	if js := Append(nil, []byte("\u202e"), `\\`); string(js) != `\\u202e` {
		t.Errorf("inside a JavaScript string: %s", js)
	}
}

func TestWriterJoinsCharactersSplitAcrossWrites(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	whole := []byte("lock ✓ \u202e key \x1b[2J é\n")
	for i := range whole { // one byte at a time: every character is split
		if n, err := w.Write(whole[i : i+1]); n != 1 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := String(string(whole)); out.String() != want {
		t.Errorf("byte by byte: %q, want %q", out.String(), want)
	}
	out.Reset()
	w.Write([]byte("cut \xe2\x9c"))
	if err := w.Flush(); err != nil || out.String() != `cut \xe2\x9c` {
		t.Errorf("a character never completed: %q, %v", out.String(), err)
	}
	if w.Unwrap() != &out {
		t.Error("Unwrap does not give the writer under it")
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterReportsTheErrorOfTheWriterUnderIt(t *testing.T) {
	w := NewWriter(failing{})
	if n, err := w.Write([]byte(strings.Repeat("x", 10))); n != 0 || err == nil {
		t.Errorf("Write = %d, %v; want 0 and the error", n, err)
	}
}
