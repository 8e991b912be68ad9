// Package printable neutralises text that lockstorm shows but did not
// write: keys, node names, errors and log lines that came from a history, a
// lock service or a container. Characters that a terminal or a browser
// would act on rather than show are replaced by a visible escape, so that
// they are shown, not interpreted:
//
//   - C0 controls other than newline and tab, and DEL: \x1b, \x07, \x7f;
//   - C1 controls (U+0080 to U+009F): \u009b;
//   - the bidirectional controls U+061C, U+200E, U+200F, U+202A to U+202E
//     and U+2066 to U+2069, which reorder what follows them: \u202e;
//   - bytes that are not UTF-8: \xff.
//
// Newline and tab are kept, because output uses them for layout. The same
// function serves the terminal (Writer) and the HTML reports.
package printable

import (
	"fmt"
	"unicode/utf8"
)

// Needs reports whether r is replaced by an escape.
func Needs(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// String returns s with every character that Needs an escape replaced by
// it, and every byte that is not UTF-8 by \xNN. A string that needs nothing
// is returned as it is.
func String(s string) string {
	if clean(s) {
		return s
	}
	return string(Append(nil, []byte(s), `\`))
}

// Append appends src to dst with every character that Needs an escape, and
// every byte that is not UTF-8, replaced by its escape, written with
// backslash in front of "x" or "u". Pass `\` for text that is shown as it
// is; pass `\\` inside a JavaScript string, which would turn a single
// backslash escape back into the character.
func Append(dst, src []byte, backslash string) []byte {
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf && !Needs(rune(c)) {
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = fmt.Appendf(dst, "%sx%02x", backslash, c)
		case r < utf8.RuneSelf:
			dst = fmt.Appendf(dst, "%sx%02x", backslash, r)
		case Needs(r):
			dst = fmt.Appendf(dst, "%su%04x", backslash, r)
		default:
			dst = append(dst, src[i:i+n]...)
		}
		i += n
	}
	return dst
}

// clean reports whether s needs no escape, without allocating.
func clean(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if Needs(rune(c)) {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || Needs(r) {
			return false
		}
		i += n
	}
	return true
}
