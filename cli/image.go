package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockstorm/lockstorm/harness"
	"github.com/lockstorm/lockstorm/runtime"
	"github.com/lockstorm/lockstorm/runtime/docker"
	"github.com/lockstorm/lockstorm/runtime/docker/image"
)

func newImageCmd() *cobra.Command {
	img := &cobra.Command{
		Use:   "image",
		Short: "Manage the node image that every target runs in",
	}
	var force, verbose bool
	build := &cobra.Command{
		Use:   "build",
		Short: "Build the node image from Debian packages (no registry needed); a no-op when it is current",
		Long: `Build the node image from Debian packages (no registry needed); a no-op when
it is current. A build prints a few lines of its own: what it builds, one
line per step, how long it took. Its full output (apt-get, mmdebstrap, the
docker build) goes to a log file in the user's cache directory
(~/.cache/lockstorm/image-build-<time>.log), whose path it prints; when it
fails, the last lines of that log are printed too.`,
		Args: cobra.NoArgs,
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
			opts := image.Options{Output: cmd.ErrOrStderr(), Verbose: verbose, Force: force}
			tag, err := image.Ensure(ctx, d.Client(), opts)
			if err != nil {
				return fmt.Errorf("%w: %v", harness.ErrInfrastructure, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s ready in %s\n", tag, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	build.Flags().BoolVar(&force, "force", false, "rebuild even when the image is current")
	build.Flags().BoolVar(&verbose, "verbose", false, "stream the build's full output (apt-get, mmdebstrap, docker build) to the terminal too")
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

// prepareImage makes sure the node image exists, if rt provides one, and
// so builds it when it is missing, before a campaign's progress display
// starts: the build's lines would tear the progress bar.
func prepareImage(ctx context.Context, rt runtime.Runtime) error {
	ip, ok := rt.(runtime.ImageProvider)
	if !ok {
		return nil
	}
	if _, err := ip.NodeImage(ctx); err != nil {
		return fmt.Errorf("%w: %w", harness.ErrInfrastructure, err)
	}
	return nil
}
