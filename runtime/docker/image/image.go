// Package image builds the one Docker image that every lockstorm node runs:
// Debian bookworm with Redis, etcd, ZooKeeper and PostgreSQL from Debian's
// packages, iptables and iproute2 for network faults, and the clock shim for
// clock faults. No container registry is needed: where the Debian base image
// cannot be pulled, it is bootstrapped with mmdebstrap and imported.
package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/docker/docker/client"
)

// Image names and labels.
const (
	// Repo is the repository part of every node image tag.
	Repo = "lockstorm-node"
	// LatestTag always names the node image that Ensure last built or found.
	LatestTag = Repo + ":latest"
	// LabelKey is the label on the node image; its value is LabelValue.
	LabelKey = "lockstorm.image"
	// LabelValue is the value of LabelKey on the node image.
	LabelValue = "node"
	// HashLabel records the input hash on the node image.
	HashLabel = "lockstorm.hash"
)

// ErrNoDocker is returned when the Docker daemon cannot be reached. Callers map
// it to exit code 4 (infrastructure failure).
var ErrNoDocker = errors.New("docker daemon unreachable")

// Options configures image building. The zero value is ready to use.
type Options struct {
	// Log receives progress events; nil discards them.
	Log *slog.Logger
	// Output, a terminal, receives lockstorm's own lines about a build,
	// when Ensure has to build: what it builds and where the build's full
	// output goes, one line per step, how long it took, and, when it fails,
	// the last lines of that output. A current image prints nothing. nil
	// discards them.
	Output io.Writer
	// Verbose streams the build's full output (apt-get on the host,
	// mmdebstrap, the docker build) to Output as well, for debugging.
	Verbose bool
	// LogDir is the directory of the build's log file,
	// image-build-<time>.log; "" is the lockstorm directory of the user's
	// cache directory (~/.cache/lockstorm). It is made 0700.
	LogDir string
	// Mirror is the Debian mirror URL; "" reads LOCKSTORM_DEBIAN_MIRROR, then
	// the host's apt configuration.
	Mirror string
	// Force rebuilds the node image without the layer cache even if its tag
	// exists.
	Force bool
}

func (o Options) logger() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o.Log
}

func (o Options) output() io.Writer {
	if o.Output == nil {
		return io.Discard
	}
	return o.Output
}

// ensureMu serialises Ensure within one process; lockBuild does so across
// processes.
var ensureMu sync.Mutex

// Tag returns "lockstorm-node:<hash>" for the embedded build inputs and the
// Debian mirror found on this host (LOCKSTORM_DEBIAN_MIRROR or apt config).
// Where no mirror can be found the hash is taken with an empty one; Ensure
// then fails with ErrNoMirror.
func Tag() string {
	src, _ := HostSources("/", "")
	tag, _, _ := tagFor(src)
	return tag
}

// tagFor returns the node image tag and build inputs for src.
func tagFor(src Sources) (string, []input, error) {
	in, err := buildInputs(src)
	if err != nil {
		return "", nil, err
	}
	return Repo + ":" + hashInputs(Version, in), in, nil
}

// Ensure makes sure the node image for the current inputs exists, building it
// (and the base image it needs) when it does not, and returns its tag. It
// also points LatestTag at it. A warm call costs a few Docker API requests
// and prints nothing. A build tells opts.Output what it does, in a few
// lines, and writes its full output to a log file (see Options).
func Ensure(ctx context.Context, cli *client.Client, opts Options) (string, error) {
	ensureMu.Lock()
	defer ensureMu.Unlock()
	if _, err := cli.Ping(ctx); err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoDocker, err)
	}
	src, err := HostSources("/", opts.Mirror)
	if err != nil {
		return "", err
	}
	tag, in, err := tagFor(src)
	if err != nil {
		return "", err
	}
	if !opts.Force {
		if ok, err := present(ctx, cli, tag); err != nil {
			return "", err
		} else if ok {
			return tag, nil
		}
	}
	// Another process may be building the same image: wait for it, then look again.
	unlock, err := lockBuild(ctx, func() {
		fmt.Fprintln(opts.output(), "image: waiting for another lockstorm process that is building the node image")
	})
	if err != nil {
		return "", err
	}
	defer unlock()
	if !opts.Force {
		if ok, err := present(ctx, cli, tag); err != nil {
			return "", err
		} else if ok {
			return tag, nil
		}
	}
	rep, err := startReport(opts, tag)
	if err != nil {
		return "", err
	}
	defer rep.close()
	err = ensureBase(ctx, cli, src, opts, rep)
	if err == nil {
		err = buildNode(ctx, cli, tag, in, opts, rep)
	}
	if ctx.Err() != nil {
		rep.interrupted()
		return "", fmt.Errorf("build %s: %w", tag, ctx.Err())
	}
	rep.finish(tag, err)
	if err != nil {
		return "", err
	}
	return tag, nil
}

// present reports whether the image tag exists, pointing LatestTag at it if so.
func present(ctx context.Context, cli *client.Client, tag string) (bool, error) {
	have, err := cli.ImageInspect(ctx, tag)
	if client.IsErrNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inspect %s: %w", tag, err)
	}
	return true, pointLatest(ctx, cli, tag, have.ID)
}

// pointLatest tags id's image as LatestTag unless it already is.
func pointLatest(ctx context.Context, cli *client.Client, tag, id string) error {
	latest, err := cli.ImageInspect(ctx, LatestTag)
	if err == nil && latest.ID == id {
		return nil
	}
	if err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("inspect %s: %w", LatestTag, err)
	}
	if err := cli.ImageTag(ctx, tag, LatestTag); err != nil {
		return fmt.Errorf("tag %s: %w", LatestTag, err)
	}
	return nil
}
