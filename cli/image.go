package cli

import (
	"fmt"
	"time"

	"github.com/lockstorm/lockstorm/runtime/docker"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/runtime/docker/image"
)

func newImageCmd() *cobra.Command {
	img := &cobra.Command{
		Use:   "image",
		Short: "Manage the node image that every target runs in",
	}
	var force bool
	build := &cobra.Command{
		Use:   "build",
		Short: "Build the node image from Debian packages (no registry needed); a no-op when it is current",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkImageInput(); err != nil {
				return err
			}
			ctx := cmd.Context()
			d, err := docker.New(ctx, nil)
			if err != nil {
				return fmt.Errorf("%w: %v", harness.ErrInfrastructure, err)
			}
			defer d.Close()
			start := time.Now()
			tag, err := image.Ensure(ctx, d.Client(), image.Options{Progress: cmd.ErrOrStderr(), Force: force})
			if err != nil {
				return fmt.Errorf("%w: %v", harness.ErrInfrastructure, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s ready in %s\n", tag, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	build.Flags().BoolVar(&force, "force", false, "rebuild even when the image is current")
	img.AddCommand(build)
	return img
}

// checkImageInput refuses, as bad input (exit 3), what the environment
// gives the node image that cannot be used: a LOCKSTORM_IMAGE_PACKAGES
// that is not a list of Debian package names. It runs before anything
// starts, so that no build and no run begins with it.
func checkImageInput() error {
	if _, err := image.ExtraPackages(); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	return nil
}
