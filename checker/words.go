package checker

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lockstorm/lockstorm/history"
)

// Plural returns "1 hold" or "3 holds" (and "2 processes"), for every
// sentence that counts.
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// joinWords joins phrases as "a", "a and b" or "a, b and c".
func joinWords(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// upperFirst capitalizes the first letter of an ASCII sentence.
func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// fmtDur renders a duration in nanoseconds like history.FormatTime does.
func fmtDur(ns int64) string { return history.FormatTime(ns) }

// mustJSON marshals checker details, which are plain structs and maps that
// always marshal.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("checker: marshal details: %v", err))
	}
	return b
}
