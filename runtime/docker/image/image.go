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
	// Progress receives the raw output of mmdebstrap and of the Docker build;
	// nil discards it.
	Progress io.Writer
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

func (o Options) progress() io.Writer {
	if o.Progress == nil {
		return io.Discard
	}
	return o.Progress
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
// also points LatestTag at it. A warm call costs a few Docker API requests.
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
	unlock, err := lockBuild(ctx)
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
	if err := ensureBase(ctx, cli, src, opts); err != nil {
		return "", err
	}
	if err := buildNode(ctx, cli, tag, in, opts); err != nil {
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
