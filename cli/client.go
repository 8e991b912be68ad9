package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/protocol"
	"github.com/lockstorm/lockstorm/targets"
)

func newClientCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "client",
		Short: "Speak the client protocol on stdin and stdout with lockstorm's Go binding of a target",
		Long: `client is what runs in the client containers when a run's clients are
processes (--client process, the default for targets in containers): it
reads requests as JSON lines on standard input, drives the lock through the
Go binding of the target named in the init request, and answers on standard
output. Anything it logs goes to standard error, which the harness copies
into the run log. docs/protocol.md describes the messages.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			err := protocol.Serve(cmd.Context(), cmd.InOrStdin(), os.Stdout, func(ctx context.Context, in protocol.Init) (targets.Client, error) {
				svc, err := targets.Lookup(in.Target)
				if err != nil {
					return nil, err
				}
				if targets.IsLocal(svc) {
					return nil, fmt.Errorf("target %s runs in the harness's process; it has no client processes", in.Target)
				}
				return svc.Binding().NewClient(ctx, targets.ClientEnv{Plan: in.Plan(), Process: in.Process, Node: in.Node, Log: log})
			})
			if err != nil {
				return usageErr("client: %v", err)
			}
			return nil
		},
	}
}
