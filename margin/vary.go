package margin

import (
	"fmt"
	"strings"
	"time"
)

// A Vary is the option a margin varies and its range, as --vary
// OPTION=FROM..TO gives them.
type Vary struct {
	Option   string
	From, To time.Duration
}

// String returns v as --vary takes it.
func (v Vary) String() string { return fmt.Sprintf("%s=%s..%s", v.Option, v.From, v.To) }

// ParseVary reads the value of --vary: OPTION=FROM..TO with two durations,
// 0 <= FROM < TO, such as client-pause.stall=200ms..3s. Its errors name
// the flag.
func ParseVary(s string) (Vary, error) {
	bad := func(format string, args ...any) (Vary, error) {
		return Vary{}, fmt.Errorf("--vary %q: "+format, append([]any{s}, args...)...)
	}
	name, rng, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return bad("want OPTION=FROM..TO, such as client-pause.stall=200ms..3s")
	}
	from, to, ok := strings.Cut(rng, "..")
	if !ok {
		return bad("want a range FROM..TO after the =, such as 200ms..3s")
	}
	var v Vary
	var err error
	v.Option = name
	if v.From, err = time.ParseDuration(strings.TrimSpace(from)); err != nil {
		return bad("FROM %q is not a duration such as 200ms", from)
	}
	if v.To, err = time.ParseDuration(strings.TrimSpace(to)); err != nil {
		return bad("TO %q is not a duration such as 3s", to)
	}
	if v.From < 0 {
		return bad("FROM %s is negative", v.From)
	}
	if v.To <= v.From {
		return bad("TO %s must be above FROM %s", v.To, v.From)
	}
	return v, nil
}
