package harness

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/workloads"
)

// An optionOwner is the target, workload or nemesis that reads an option.
type optionOwner struct {
	kind, name string // "target", "redis"
}

func (o optionOwner) String() string { return o.kind + " " + o.name }

// optionOwners maps every option that a registered target, workload or
// nemesis declares to its owner.
func optionOwners() map[string]optionOwner {
	out := map[string]optionOwner{}
	add := func(kind, name string, v any) {
		// Workloads and nemeses declare options with the same method.
		if n, ok := v.(targets.Optioned); ok {
			for _, opt := range n.OptionNames() {
				out[opt] = optionOwner{kind, name}
			}
		}
	}
	for _, t := range targets.All() {
		add("target", t.Name(), t)
	}
	for _, w := range workloads.All() {
		add("workload", w.Name(), w)
	}
	for _, n := range nemesis.All() {
		add("nemesis", n.Name(), n)
	}
	return out
}

// CheckOptions reports the first option (in name order) that no target,
// workload or nemesis reads: a misspelt option would otherwise be ignored
// without a word. The error lists the options that share its prefix, or
// all of them.
func CheckOptions(opts map[string]string) error {
	owners := optionOwners()
	names := make([]string, 0, len(opts))
	for k := range opts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, ok := owners[k]; ok {
			continue
		}
		prefix, _, _ := strings.Cut(k, ".")
		var near, all []string
		for opt := range owners {
			all = append(all, opt)
			if p, _, _ := strings.Cut(opt, "."); p == prefix {
				near = append(near, opt)
			}
		}
		if len(near) > 0 {
			slices.Sort(near)
			return fmt.Errorf("%s: unknown option (options of %s: %s)", k, prefix, strings.Join(near, ", "))
		}
		slices.Sort(all)
		return fmt.Errorf("%s: no target, workload or nemesis has this option (valid: %s)", k, strings.Join(all, ", "))
	}
	return nil
}

// unusedOptions lists, in name order, the options whose owner the run
// does not use: legal (a campaign's defaults may set options for some of
// its cells) but worth a note.
func unusedOptions(opts map[string]string, target, workload string, nemeses []string) []string {
	owners := optionOwners()
	var out []string
	for k := range opts {
		o, ok := owners[k]
		if !ok {
			continue
		}
		used := o.kind == "target" && o.name == target ||
			o.kind == "workload" && o.name == workload ||
			o.kind == "nemesis" && slices.Contains(nemeses, o.name)
		if !used {
			out = append(out, fmt.Sprintf("Option %s is read by %s, which this run does not use; it had no effect.", k, o))
		}
	}
	sort.Strings(out)
	return out
}
