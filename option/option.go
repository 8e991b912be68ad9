// Package option declares the name=value settings (--opt, and options: in
// a campaign file) that targets, workloads and nemeses read. Each option is
// declared once, with its name, default, rule and help; the declarations
// are what the command line lists, what a run checks before anything
// starts, and the only way the code reads a value.
package option

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// ErrBadOption is wrapped by every error about an option: a name that
// nothing declares or a value that breaks its declaration's rule.
var ErrBadOption = errors.New("bad option")

// An optionError is an error about an option; it is an ErrBadOption.
type optionError struct{ msg string }

func (e *optionError) Error() string        { return e.msg }
func (e *optionError) Is(target error) bool { return target == ErrBadOption }

// Errorf returns an error that wraps ErrBadOption without saying so in
// its text: "etcd.election=500ms must be at least 5 x etcd.heartbeat".
func Errorf(format string, args ...any) error {
	return &optionError{fmt.Sprintf(format, args...)}
}

// Values are the options of a run, by full name ("pause.mode"). A run
// checks them against every declaration with Check before it starts, so
// a declared option's getter never meets a value it cannot parse; if it
// does anyway (a map that skipped Check), it returns the default.
type Values map[string]string

// A Spec is what a declaration says about its option, for listing and
// checking.
type Spec struct {
	// Name is the full name, "<owner>.<setting>".
	Name string
	// Default is the value used when the option is not given, as text;
	// "" when the default depends on the run (the spec's Help says how).
	Default string
	// Help says in a few words what the option does.
	Help string
	// Choices lists the valid values of an option that takes one of a
	// fixed set (or, with List, a comma-separated subset of it).
	Choices []string
	// List means that the value is a comma-separated list of Choices.
	List bool
	// check reports what is wrong with a value.
	check func(string) error
}

// Check reports what is wrong with the value s of the option.
func (s Spec) Check(v string) error {
	if s.check == nil {
		return nil
	}
	if err := s.check(v); err != nil {
		return Errorf("%s=%q: %v", s.Name, v, err)
	}
	return nil
}

// A Declaration is a typed option (Duration, Int, Float, Choice).
type Declaration interface {
	Spec() Spec
}

// Specs returns the specs of ds, for an Options method.
func Specs(ds ...Declaration) []Spec {
	out := make([]Spec, len(ds))
	for i, d := range ds {
		out[i] = d.Spec()
	}
	return out
}

// Names returns the names of specs, in order.
func Names(specs []Spec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}

// An Owner is a target, workload or nemesis with the options it reads.
type Owner struct {
	// Kind is "target", "workload" or "nemesis"; Name its registry name.
	Kind, Name string
	Specs      []Spec
}

func (o Owner) String() string { return o.Kind + " " + o.Name }

// Check reports the first problem with v, in name order: an option that no
// owner declares (listing the options that share its prefix, or all of
// them) or a value its declaration refuses.
func Check(owners []Owner, v Values) error {
	specs := map[string]Spec{}
	for _, o := range owners {
		for _, s := range o.Specs {
			specs[s.Name] = s
		}
	}
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		s, ok := specs[k]
		if !ok {
			return unknown(k, specs)
		}
		if err := s.Check(v[k]); err != nil {
			return err
		}
	}
	return nil
}

func unknown(k string, specs map[string]Spec) error {
	prefix, _, _ := strings.Cut(k, ".")
	var near, all []string
	for name := range specs {
		all = append(all, name)
		if p, _, _ := strings.Cut(name, "."); p == prefix {
			near = append(near, name)
		}
	}
	if len(near) > 0 {
		slices.Sort(near)
		return Errorf("%s: unknown option (options of %s: %s)", k, prefix, strings.Join(near, ", "))
	}
	slices.Sort(all)
	return Errorf("%s: no target, workload or nemesis has this option (valid: %s)", k, strings.Join(all, ", "))
}

// A Stray is an option given to a run that only owners the run does not
// use declare: it would have no effect, so a run refuses it.
type Stray struct {
	Name string
	// Owners are the owners that declare it.
	Owners []Owner
}

// Belongs says whose option the stray is: "target redis", or "target
// postgres-row or target postgres-advisory".
func (s Stray) Belongs() string {
	names := make([]string, len(s.Owners))
	for i, o := range s.Owners {
		names[i] = o.String()
	}
	return strings.Join(names, " or ")
}

// Unread lists, in name order, the options of v that some owner declares
// but no owner that the run uses (used) does. An option that several
// owners declare (the PostgreSQL targets share theirs) is read when one
// of them is used. Options that no owner declares are Check's to refuse.
func Unread(owners []Owner, used func(Owner) bool, v Values) []Stray {
	var out []Stray
	for _, k := range slices.Sorted(maps.Keys(v)) {
		var decl []Owner
		read := false
		for _, o := range owners {
			if slices.ContainsFunc(o.Specs, func(s Spec) bool { return s.Name == k }) {
				decl = append(decl, o)
				read = read || used(o)
			}
		}
		if len(decl) > 0 && !read {
			out = append(out, Stray{Name: k, Owners: decl})
		}
	}
	return out
}

// lookup returns the trimmed value of name and whether it is set.
func (v Values) lookup(name string) (string, bool) {
	s, ok := v[name]
	s = strings.TrimSpace(s)
	return s, ok && s != ""
}
