package targets

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockstorm/lockstorm/plan"
)

// named is a Service of which only the name matters.
type named string

func (n named) Name() string                                     { return string(n) }
func (named) Describe() Descriptor                               { return Descriptor{} }
func (named) Prepare(*plan.Plan) (time.Duration, error)          { return 0, nil }
func (named) Setup(context.Context, *Env) (time.Duration, error) { return 0, nil }
func (named) Binding() Binding                                   { return nil }
func (named) Teardown(context.Context) error                     { return nil }
func newNamed(name string) func() Service                        { return func() Service { return named(name) } }
func registered(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, s := range All() {
		out = append(out, s.Name())
	}
	return out
}

// swapRegistry empties the registry for one test and restores it after.
func swapRegistry(t *testing.T) {
	regMu.Lock()
	b, e := builtin, extra
	builtin, extra = nil, nil
	regMu.Unlock()
	t.Cleanup(func() {
		regMu.Lock()
		builtin, extra = b, e
		regMu.Unlock()
	})
}

// A program that looks a target up before registering any fails loudly,
// naming the call it lacks, rather than finding no targets.
func TestNothingRegisteredPanicsNamingTheFix(t *testing.T) {
	swapRegistry(t)
	Extend(newNamed("ext"))
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "all.Register()") {
			t.Errorf("panic %q does not name all.Register()", msg)
		}
	}()
	Lookup("ext")
	t.Error("Lookup without registered services did not panic")
}

// Registered services come in their order, extensions after them;
// registering again replaces the list rather than doubling it.
func TestRegisterKeepsTheOrderAndExtendComesLast(t *testing.T) {
	swapRegistry(t)
	Register(newNamed("b"), newNamed("a"))
	Extend(newNamed("x"))
	Register(newNamed("b"), newNamed("a"))
	if got, want := registered(t), []string{"b", "a", "x"}; !slices.Equal(got, want) {
		t.Errorf("All() = %q, want %q", got, want)
	}
	if got := Names(); !slices.Equal(got, []string{"a", "b", "x"}) {
		t.Errorf("Names() = %q, want them sorted", got)
	}
	if _, err := Lookup("nosuch"); !errors.Is(err, ErrUnknownTarget) || !strings.Contains(err.Error(), "a, b, x") {
		t.Errorf("Lookup(nosuch) = %v, want ErrUnknownTarget listing the names", err)
	}
}
