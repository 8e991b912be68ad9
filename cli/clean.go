package cli

import (
	"fmt"

	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/runtime/docker"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/harness"
)

func newCleanCmd() *cobra.Command {
	var all bool
	var sf sshFlags
	var runID string
	c := &cobra.Command{
		Use:   "clean",
		Short: "Remove the containers and networks that killed runs left behind",
		Long: `clean removes every container and network labelled by a lockstorm run whose
process is gone. A run started by a lockstorm process that this one cannot
see (in another PID namespace or on another host sharing the engine) is
left alone. With --all it also removes those, and those of runs that are
still going.

With --hosts FILE it cleans the hosts of that SSH inventory instead
(docs/ssh.md): the processes, run directories and, on a host where no run
is left, the iptables chains and server files of runs whose lockstorm
process is gone; with --run ID, those of that run only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sf.hosts != "" {
				return cleanHosts(cmd, sf.hosts, sf.acceptNew, runID, all)
			}
			if runID != "" {
				return usageErr("--run needs --hosts")
			}
			ctx := cmd.Context()
			d, err := docker.New(ctx, nil)
			if err != nil {
				return fmt.Errorf("%w: %w", harness.ErrInfrastructure, err)
			}
			defer d.Close()
			var n runtime.Reaped
			if all {
				n, err = d.Reap(ctx, nil)
			} else {
				n, err = d.ReapOrphans(ctx)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d containers and %d networks\n", n.Containers, n.Networks)
			if len(n.Unseen) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "lockstorm: left the runs of %d lockstorm processes that this one cannot see (another PID namespace or host sharing the engine); once they have ended, `lockstorm clean --all` removes them\n", len(n.Unseen))
			}
			for _, name := range n.Stuck {
				fmt.Fprintf(cmd.ErrOrStderr(), "lockstorm: network %s has no container on it, but the Docker engine keeps a stale endpoint there and will not remove it until the engine restarts (moby/moby#42119)\n", name)
			}
			if err != nil {
				return fmt.Errorf("%w: %w", harness.ErrInfrastructure, err)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&all, "all", false, "also remove the containers of runs that are still going")
	sf.register(c)
	c.Flags().StringVar(&runID, "run", "", "with --hosts: remove this run (its id) only")
	return c
}
