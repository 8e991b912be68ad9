package cli

import (
	"fmt"
	"regexp"

	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/workloads"
)

// Extensions are the targets, workloads and nemeses that a Go module adds
// to its own lockstorm binary (docs/extending.md): its main calls
// cli.Main(os.Args[1:], cli.Extensions{...}). Every command then knows them
// as it knows lockstorm's own: run, campaign, check, the lists, and the
// `client` subcommand that runs in the client containers.
type Extensions struct {
	// Targets are constructors of services: each run takes a fresh one.
	Targets   []func() targets.Service
	Workloads []workloads.Workload
	Nemeses   []nemesis.Nemesis
}

// extensionName is what the name of a target, workload or nemesis may
// look like: it appears in directory names and on the command line.
var extensionName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// install checks the extensions' names and adds them to the registries.
func (e Extensions) install() error {
	seen := map[string]bool{}
	check := func(kind, name string, taken []string) error {
		if !extensionName.MatchString(name) {
			return fmt.Errorf("extension %s %q: a name is lower-case letters, digits and dashes", kind, name)
		}
		for _, t := range taken {
			if t == name || seen[kind+" "+name] {
				return fmt.Errorf("extension %s %q: the name is taken", kind, name)
			}
		}
		seen[kind+" "+name] = true
		return nil
	}
	for _, f := range e.Targets {
		if err := check("target", f().Name(), targets.Names()); err != nil {
			return err
		}
	}
	for _, w := range e.Workloads {
		if err := check("workload", w.Name(), workloads.Names()); err != nil {
			return err
		}
	}
	for _, n := range e.Nemeses {
		if err := check("nemesis", n.Describe().Name, nemesis.Names()); err != nil {
			return err
		}
	}
	targets.Extend(e.Targets...)
	workloads.Extend(e.Workloads...)
	nemesis.Extend(e.Nemeses...)
	return nil
}
