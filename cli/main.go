// Package cli is the lockstorm command line as a package: Main runs it,
// with lockstorm's own targets, workloads and nemeses and any that a Go
// module outside this repository adds (docs/extending.md), so that such a
// module builds its own lockstorm binary without forking.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/history"
	"github.com/lockstorm/lockstorm/internal/printable"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/runtime/docker/image"
	"github.com/lockstorm/lockstorm/targets/all"
)

// Exit codes (DESIGN.md, "Command line").
const (
	exitValid   = 0
	exitInvalid = 1
	exitUnknown = 2
	exitUsage   = 3
	exitInfra   = 4
)

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks bad usage or bad input (exit 3).
func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// Main runs the command line args (without the program name) with
// lockstorm's own targets, workloads and nemeses and those of ext, and
// returns the exit code. The first SIGINT or SIGTERM cancels the context,
// so runs heal and tear down; Main returns at once on a second signal, and
// at most signalGrace after the first whatever the command is blocked on
// (see supervise). Everything the commands print is neutralised
// (internal/printable): keys, node names and errors from a history or a
// service cannot drive the terminal.
func Main(args []string, ext Extensions) int {
	all.Register()
	if err := ext.install(); err != nil {
		fmt.Fprintf(os.Stderr, "lockstorm: %s\n", printable.String(err.Error()))
		return exitUsage
	}
	return run(args, os.Stdout, os.Stderr)
}

// run is Main with the output streams given.
func run(args []string, stdout, stderr io.Writer) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	return supervise(sigs, signalGrace, stderr, func(ctx context.Context) int {
		return execute(ctx, args, stdout, stderr)
	})
}

// execute runs the command line under ctx and returns the exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	out, errOut := printable.NewWriter(stdout), printable.NewWriter(stderr)
	defer errOut.Flush()
	defer out.Flush()
	root := newRoot(out, errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitValid
	}
	code := exitCode(err)
	if code != exitInvalid && code != exitUnknown {
		fmt.Fprintf(errOut, "lockstorm: %v\n", err)
	}
	if e, ok := runtime.EngineStuck(err); ok {
		fmt.Fprintf(errOut, "lockstorm: the container engine stopped answering (%s got no answer in %s): %s\n", e.Call, e.Waited, runtime.EngineAdvice)
	}
	return code
}

// exitCode maps an error onto the exit codes of DESIGN.md.
func exitCode(err error) int {
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, runtime.ErrEngineStuck):
		return exitInfra
	case errors.Is(err, harness.ErrBadConfig), errors.Is(err, harness.ErrBadInput), errors.Is(err, history.ErrMalformed),
		errors.Is(err, image.ErrBadPackages):
		return exitUsage
	case errors.Is(err, harness.ErrInfrastructure), errors.Is(err, runtime.ErrNoDocker):
		return exitInfra
	}
	return exitUsage // cobra's own errors: unknown flags and commands
}

// newRoot builds the command tree. It registers lockstorm's own targets
// first (again, for the tests that build the tree without Main).
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	all.Register()
	root := &cobra.Command{
		Use:   "lockstorm",
		Short: "Fault-injection tests for distributed locks",
		Long: `lockstorm runs many clients against a real lock service in Docker while a
nemesis injects faults (partitions, pauses, kills, clock jumps, stalled or
crashed clients), records every operation, and checks the history for broken
mutual exclusion, stale writes and stuck locks.

Exit codes: 0 valid, 1 invalid (anomaly found), 2 unknown, 3 bad usage or
input, 4 infrastructure failure.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%v (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(
		newRunCmd(),
		newClientCmd(),
		newRelayCmd(),
		newCheckCmd(),
		newShrinkCmd(),
		newMarginCmd(),
		newCampaignCmd(),
		newReportCmd(),
		newServeCmd(),
		newImageCmd(),
		newCleanCmd(),
		newHostsCmd(),
		newListCmd("targets"),
		newListCmd("workloads"),
		newListCmd("nemeses"),
	)
	refuseUnknownSubcommands(root)
	root.PersistentPreRunE = refuseEmptyFlags
	return root
}
