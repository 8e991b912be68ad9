package workloads

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/plan"
)

// ErrUnknownVariant is wrapped when a plan names no variant of its
// workload.
var ErrUnknownVariant = errors.New("unknown workload variant")

// CheckVariant reports whether variant is one of w's ("" is always: the
// default).
func CheckVariant(w Workload, variant string) error {
	if variant == "" {
		return nil
	}
	valid := w.Variants()
	if len(valid) == 0 {
		return fmt.Errorf("%w %q: workload %s has no variants", ErrUnknownVariant, variant, w.Name())
	}
	if !slices.Contains(valid, variant) {
		return fmt.Errorf("%w %q for %s (valid: %s)", ErrUnknownVariant, variant, w.Name(), strings.Join(valid, ", "))
	}
	return nil
}

// variantOf returns the plan's variant of w, or w's default.
func variantOf(w Workload, p *plan.Plan) string {
	if v := p.Variant; v != "" {
		return v
	}
	return defaultVariant(w)
}

// defaultVariant returns w's default variant, its first; "" when it has
// none.
func defaultVariant(w Workload) string {
	if vs := w.Variants(); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// CheckJudge reports whether every name in judge names a checker that a
// run of w runs: the lock checkers and w's own. A run judged by a checker
// that does not run would be judged by nothing, and pass as safe.
func CheckJudge(w Workload, judge []string) error {
	valid := slices.Clone(checker.LockNames)
	valid = append(valid, w.Judges()...)
	for _, j := range judge {
		if !slices.Contains(valid, j) {
			return fmt.Errorf("%q is not a checker that workload %s runs (valid: %s)", j, w.Name(), strings.Join(valid, ", "))
		}
	}
	return nil
}
