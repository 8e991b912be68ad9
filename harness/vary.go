package harness

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/plan"
)

// CheckVary refuses an option that a margin cannot vary in the runs of p:
// one that no nemesis of p declares, and values (the ends of the range)
// that the option does not take. The margin's callers, the margin
// command and a campaign's margin cell, refuse the rest in their own
// words: a plan without a nemesis, an option also set otherwise.
func CheckVary(p plan.Plan, opt string, values ...time.Duration) error {
	var known []string
	for _, o := range Owners() {
		if o.Kind != "nemesis" || !slices.Contains(p.Nemeses, o.Name) {
			continue
		}
		for _, s := range o.Specs {
			known = append(known, s.Name)
			if s.Name != opt {
				continue
			}
			for _, d := range values {
				if err := s.Check(option.FormatDuration(d)); err != nil {
					return fmt.Errorf("%s takes no duration %s: %v", opt, option.FormatDuration(d), err)
				}
			}
			return nil
		}
	}
	list := strings.Join(known, ", ")
	if list == "" {
		list = "none"
	}
	return fmt.Errorf("no nemesis of the run (%s) has option %s (their options: %s)", strings.Join(p.Nemeses, ", "), opt, list)
}

// MarginCommand is the command line of a margin over opt in the runs of
// p: p's command as lockstorm margin, without opt (the search sets it),
// with --vary vary and --seeds.
func MarginCommand(p plan.Plan, opt, vary string, seeds int) string {
	q := p
	q.Options = option.Values{}
	for k, s := range p.Options {
		if k != opt {
			q.Options[k] = s
		}
	}
	cmd := strings.Replace(q.Command(), "lockstorm run", "lockstorm margin", 1)
	return fmt.Sprintf("%s --vary %s --seeds %d", cmd, vary, seeds)
}
