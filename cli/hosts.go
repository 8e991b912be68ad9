package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/runtime/docker/image"
	rtssh "github.com/lockstorm/lockstorm/runtime/ssh"
	"github.com/lockstorm/lockstorm/targets"
)

// sshFlags are the flags that put a run's nodes on existing hosts over
// SSH (docs/ssh.md).
type sshFlags struct {
	hosts     string
	acceptNew bool
}

// register adds --hosts and --accept-new-host-keys to c.
func (sf *sshFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&sf.hosts, "hosts", "", "run the nodes on the hosts of this inventory file over SSH instead of in Docker containers (docs/ssh.md)")
	c.Flags().BoolVar(&sf.acceptNew, "accept-new-host-keys", false, "with --hosts: accept the SSH key of a host that known_hosts does not list yet, and add it there")
}

// openSSH loads the inventory (a bad one is exit 3, naming file:line) and
// opens the SSH runtime over it.
func openSSH(path string, acceptNew bool) (*rtssh.Runtime, error) {
	inv, err := rtssh.LoadInventory(path)
	if err != nil {
		return nil, usageErr("--hosts: %v", err)
	}
	rt, err := rtssh.New(rtssh.Options{Inventory: inv, AcceptNewHostKeys: acceptNew, ShimSource: image.File})
	if err != nil {
		return nil, usageErr("--hosts: %v", err)
	}
	return rt, nil
}

// openSSHFor opens the SSH runtime for the targets named, and checks
// that the server hosts have what they need; none is opened when every
// target runs in process.
func openSSHFor(ctx context.Context, path string, acceptNew bool, names ...string) (runtime.Runtime, func(), error) {
	var remote []string
	for _, name := range names {
		if t, err := targets.Lookup(name); err == nil && !targets.IsLocal(t) {
			remote = append(remote, name)
		}
	}
	rt, err := openSSH(path, acceptNew)
	if err != nil {
		return nil, nil, err
	}
	if len(remote) == 0 {
		_ = rt.Close()
		return nil, func() {}, nil
	}
	if err := rt.Check(ctx, remote); err != nil {
		_ = rt.Close()
		return nil, nil, fmt.Errorf("%w: %w", harness.ErrInfrastructure, err)
	}
	return rt, func() { _ = rt.Close() }, nil
}

func newHostsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "hosts",
		Short: "Prepare the hosts of an SSH inventory for runs (docs/ssh.md)",
		Args:  cobra.NoArgs,
	}
	var sf sshFlags
	var target []string
	prep := &cobra.Command{
		Use:   "prepare --hosts FILE [--target T]...",
		Short: "Install the servers' Debian packages and the clock shim on the server hosts",
		Long: `prepare installs, with apt-get on every server host of the inventory
(Debian and Ubuntu), the packages that the node image has for the targets
named (all targets without --target), and builds the clock shim there
with gcc. It needs root on the hosts, or sudo: true. It then checks that
each host has what the targets need.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sf.hosts == "" {
				return usageErr("--hosts is required")
			}
			for _, t := range target {
				if _, err := targets.Lookup(t); err != nil {
					return usageErr("--target %s: %v", t, err)
				}
			}
			rt, err := openSSH(sf.hosts, sf.acceptNew)
			if err != nil {
				return err
			}
			defer rt.Close()
			if err := rt.Prepare(cmd.Context(), target, cmd.ErrOrStderr()); err != nil {
				return fmt.Errorf("%w: %w", harness.ErrInfrastructure, err)
			}
			if err := rt.Check(cmd.Context(), target); err != nil {
				return fmt.Errorf("%w: %w", harness.ErrInfrastructure, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "prepared %d server hosts\n", len(rt.Inventory().Servers()))
			return nil
		},
	}
	sf.register(prep)
	prep.Flags().StringArrayVar(&target, "target", nil, "a target whose servers to install (repeatable; default: all)")
	c.AddCommand(prep)
	return c
}

// cleanHosts is `lockstorm clean --hosts FILE [--run ID]`.
func cleanHosts(cmd *cobra.Command, path string, acceptNew bool, runID string, all bool) error {
	rt, err := openSSH(path, acceptNew)
	if err != nil {
		return err
	}
	defer rt.Close()
	ctx := cmd.Context()
	var n runtime.Reaped
	switch {
	case runID != "":
		n, err = rt.Reap(ctx, map[string]string{runtime.LabelRun: runID})
	case all:
		n, err = rt.Reap(ctx, nil)
	default:
		n, err = rt.ReapOrphans(ctx)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "removed %d run directories, with their processes\n", n.Runs)
	if len(n.Unseen) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "lockstorm: left the runs of %d lockstorm processes that this one cannot see (another machine or PID namespace); `lockstorm clean --hosts %s --run ID` removes one once it has ended\n", len(n.Unseen), path)
	}
	if err != nil {
		if errors.Is(err, rtssh.ErrBadInventory) {
			return usageErr("%v", err)
		}
		return fmt.Errorf("%w: %w", harness.ErrInfrastructure, err)
	}
	return nil
}
