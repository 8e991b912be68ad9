package cli

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Every flag of every command shows a plain argument name in --help
// ("--target string"), never a phrase lifted from back-quotes in its usage
// ("--target lockstorm targets"), which cobra takes for the argument's name.
func TestHelpShowsPlainArgumentNames(t *testing.T) {
	var walk func(c *cobra.Command)
	seen := 0
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			seen++
			name, _ := pflag.UnquoteUsage(f)
			if strings.ContainsAny(name, " \t") || strings.Contains(name, "lockstorm") {
				t.Errorf("lockstorm %s --help shows --%s %s: back-quotes in its usage became its argument's name", c.Name(), f.Name, name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(io.Discard, io.Discard))
	if seen < 20 {
		t.Fatalf("only %d flags seen: the walk missed the commands", seen)
	}
	// And as a user sees it.
	placeholder := regexp.MustCompile(`--[a-z-]+ lockstorm`)
	for _, cmd := range []string{"run", "campaign"} {
		_, out, _ := lockstorm(t, cmd, "--help")
		if m := placeholder.FindString(out); m != "" {
			t.Errorf("lockstorm %s --help shows %q:\n%s", cmd, m, out)
		}
	}
	if _, out, _ := lockstorm(t, "run", "--help"); !strings.Contains(out, "--target string") {
		t.Errorf("lockstorm run --help does not show --target string:\n%s", out)
	}
}
