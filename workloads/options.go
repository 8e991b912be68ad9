package workloads

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Options and variants of the use-case workloads (inventory, payment,
// scheduled jobs, leader election).

// ErrBadOption is wrapped when a workload option (--opt name=value) has a
// value the workload cannot use.
var ErrBadOption = errors.New("bad workload option")

// ErrUnknownVariant is wrapped when Config.Variant names no variant of the
// workload.
var ErrUnknownVariant = errors.New("unknown workload variant")

// pickVariant returns the variant asked for, or the default (the first)
// when none was.
func pickVariant(workload, asked string, valid []string) (string, error) {
	if asked == "" {
		if len(valid) == 0 {
			return "", nil
		}
		return valid[0], nil
	}
	if !slices.Contains(valid, asked) {
		if len(valid) == 0 {
			return "", fmt.Errorf("%w %q: %s has no variants", ErrUnknownVariant, asked, workload)
		}
		return "", fmt.Errorf("%w %q for %s (valid: %v)", ErrUnknownVariant, asked, workload, valid)
	}
	return asked, nil
}

// optInt reads an integer option of at least lo, or def when absent.
func optInt(cfg Config, name string, def, lo int64) (int64, error) {
	s, ok := cfg.Extra[name]
	if !ok || s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo {
		return def, fmt.Errorf("%w: %s=%q: want an integer of at least %d", ErrBadOption, name, s, lo)
	}
	return v, nil
}

// optDuration reads a positive duration option, or def when absent.
func optDuration(cfg Config, name string, def time.Duration) (time.Duration, error) {
	s, ok := cfg.Extra[name]
	if !ok || s == "" {
		return def, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return def, fmt.Errorf("%w: %s=%q: want a positive duration such as 200ms", ErrBadOption, name, s)
	}
	return v, nil
}
