package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/checker"
	"github.com/lockstorm/lockstorm/nemesis"
	"github.com/lockstorm/lockstorm/targets"
	"github.com/lockstorm/lockstorm/workloads"
)

// newListCmd lists the registered targets, workloads or nemeses with a
// one-line description each.
func newListCmd(what string) *cobra.Command {
	return &cobra.Command{
		Use:   what,
		Short: "List the registered " + what,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			switch what {
			case "targets":
				for _, t := range targets.All() {
					fmt.Fprintf(w, "%s\t%s\n", t.Name(), t.Description())
				}
			case "workloads":
				for _, x := range workloads.All() {
					fmt.Fprintf(w, "%s\t%s\n", x.Name(), x.Description())
				}
			case "nemeses":
				for _, n := range nemesis.All() {
					fmt.Fprintf(w, "%s\t%s\n", n.Name(), n.Description())
				}
			}
			return w.Flush()
		},
	}
}

func upper(s checker.Status) string { return strings.ToUpper(string(s)) }
