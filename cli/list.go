package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/option"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/workloads"
)

// newListCmd lists the registered targets, workloads or nemeses with a
// one-line description each, and under it the --opt names each one reads.
func newListCmd(what string) *cobra.Command {
	return &cobra.Command{
		Use:   what,
		Short: "List the registered " + what,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			entry := func(name, desc string, specs []option.Spec) {
				fmt.Fprintf(w, "%s\t%s\n", name, desc)
				if len(specs) > 0 {
					fmt.Fprintf(w, "\t--opt %s\n", strings.Join(option.Names(specs), ", "))
				}
			}
			switch what {
			case "targets":
				for _, t := range targets.All() {
					d := t.Describe()
					entry(t.Name(), d.Description, d.Options)
				}
			case "workloads":
				for _, x := range workloads.All() {
					entry(x.Name(), x.Description(), x.Options())
				}
			case "nemeses":
				for _, n := range nemesis.All() {
					d := n.Describe()
					entry(d.Name, d.Description, d.Options)
				}
			}
			return w.Flush()
		},
	}
}

func upper(s checker.Status) string { return strings.ToUpper(string(s)) }
