package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/internal/relay"
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

func newRelayCmd() *cobra.Command {
	var listen, pidFile string
	c := &cobra.Command{
		Use:    "relay --pid-file FILE -- COMMAND [ARG...]",
		Short:  "Run a client process behind a TCP port (what the harness starts in a client container)",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := relay.Run(cmd.Context(), listen, pidFile, args, os.Stdout)
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return &exitError{code: max(ee.ExitCode(), 1), err: err}
			}
			return err
		},
	}
	c.Flags().StringVar(&listen, "listen", ":0", "address to listen on")
	c.Flags().StringVar(&pidFile, "pid-file", "", "file to write the process group id to")
	return c
}
