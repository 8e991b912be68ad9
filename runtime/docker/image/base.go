package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// BaseTag is the local tag of the bookworm base image that the node image is
// built FROM.
const BaseTag = "lockstorm-base:bookworm"

// pullRef is the public base image tried before bootstrapping one.
const pullRef = "debian:bookworm-slim"

// pullTimeout bounds the attempt to pull pullRef; no registry is reachable on
// most machines that run lockstorm, so this should fail fast.
const pullTimeout = 20 * time.Second

// pathEnv is set in the imported base image, which has no config of its own.
const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ensureBase makes sure BaseTag exists: it keeps an existing one, else pulls
// debian:bookworm-slim, else bootstraps one with mmdebstrap from src. What
// it does goes to rep.
func ensureBase(ctx context.Context, cli *client.Client, src Sources, opts Options, rep *report) error {
	if _, err := cli.ImageInspect(ctx, BaseTag); err == nil {
		return nil
	} else if !client.IsErrNotFound(err) {
		return fmt.Errorf("inspect %s: %w", BaseTag, err)
	}
	log := opts.logger()
	start := time.Now()
	if err := pullBase(ctx, cli, rep); err == nil {
		log.Info("pulled base image", "ref", pullRef, "tag", BaseTag, "took", time.Since(start).Round(time.Millisecond))
		rep.say("image: base: pulled " + pullRef + " as " + BaseTag)
		return nil
	} else if ctx.Err() != nil {
		return fmt.Errorf("pull %s: %w", pullRef, ctx.Err())
	} else {
		log.Info("cannot pull base image; bootstrapping it from Debian packages", "ref", pullRef, "err", err)
		fmt.Fprintf(rep.output(), "cannot pull %s (%v); bootstrapping %s from Debian packages\n", pullRef, err, BaseTag)
	}
	if err := bootstrapBase(ctx, cli, src, opts, rep); err != nil {
		return fmt.Errorf("bootstrap base image: %w", err)
	}
	log.Info("bootstrapped base image", "tag", BaseTag, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// pullBase pulls pullRef within pullTimeout and tags it as BaseTag.
func pullBase(ctx context.Context, cli *client.Client, rep *report) error {
	pctx, cancel := context.WithTimeout(ctx, pullTimeout)
	defer cancel()
	rc, err := cli.ImagePull(pctx, pullRef, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := copyMessages(rc, rep.output()); err != nil {
		return err
	}
	return cli.ImageTag(ctx, pullRef, BaseTag)
}

// bootstrapBase builds a minbase bookworm tarball with mmdebstrap and imports
// it into Docker as BaseTag, in baseSteps steps that rep shows.
func bootstrapBase(ctx context.Context, cli *client.Client, src Sources, opts Options, rep *report) error {
	if err := ensureMmdebstrap(ctx, opts, rep); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "lockstorm-base-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	tarball := filepath.Join(dir, "rootfs.tar")
	args := []string{
		"--variant=minbase",
		"--aptopt=Acquire::Check-Valid-Until \"false\"",
		"--aptopt=Acquire::Retries \"3\"",
		"--aptopt=Acquire::Languages \"none\"",
		"--dpkgopt=path-exclude=/usr/share/doc/*",
		"--dpkgopt=path-include=/usr/share/doc/*/copyright",
		"--dpkgopt=path-exclude=/usr/share/man/*",
		"--dpkgopt=path-exclude=/usr/share/info/*",
		"--dpkgopt=path-exclude=/usr/share/locale/*",
		Suite, tarball,
	}
	args = append(args, src.Lines()...)
	opts.logger().Info("running mmdebstrap", "suite", Suite, "mirror", src.Mirror)
	rep.baseStep(1)
	cmd := exec.CommandContext(ctx, "mmdebstrap", args...)
	out := rep.mmdebstrapOutput()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mmdebstrap: %w", err)
	}
	f, err := os.Open(tarball)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer f.Close()
	rep.baseStep(3)
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: f, SourceName: "-"}, BaseTag, image.ImportOptions{
		Message: "lockstorm: debian " + Suite + " minbase from mmdebstrap",
		Changes: []string{"ENV " + pathEnv, `CMD ["bash"]`},
	})
	if err != nil {
		return fmt.Errorf("docker import: %w", err)
	}
	defer rc.Close()
	if err := copyMessages(rc, rep.output()); err != nil {
		return fmt.Errorf("docker import: %w", err)
	}
	return nil
}

// dpkgLockWait is apt-get's option to wait for dpkg's lock (seconds).
const dpkgLockWait = "DPkg::Lock::Timeout=300"

// ensureMmdebstrap installs mmdebstrap on the host with apt-get if it is
// missing, running apt-get update first only when a plain install fails.
// It says so on rep's terminal first; apt-get's output goes to rep's log.
// apt-get waits up to dpkgLockWait for another apt-get or dpkg (an
// unattended upgrade, a user's install) to let go of dpkg's lock rather
// than failing at once.
func ensureMmdebstrap(ctx context.Context, opts Options, rep *report) error {
	if _, err := exec.LookPath("mmdebstrap"); err == nil {
		return nil
	}
	log := opts.logger()
	install := func() error {
		cmd := exec.CommandContext(ctx, "apt-get", "-o", dpkgLockWait, "install", "-y", "--no-install-recommends", "mmdebstrap")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = rep.output(), rep.output()
		return cmd.Run()
	}
	log.Info("installing mmdebstrap on the host with apt-get")
	rep.installOnHost("mmdebstrap", "bootstrap the Debian base image")
	if err := install(); err != nil {
		log.Info("apt-get install failed; running apt-get update", "err", err)
		upd := exec.CommandContext(ctx, "apt-get", "-o", dpkgLockWait, "update")
		upd.Stdout, upd.Stderr = rep.output(), rep.output()
		if err := upd.Run(); err != nil {
			return fmt.Errorf("apt-get update: %w", err)
		}
		if err := install(); err != nil {
			return fmt.Errorf("apt-get install mmdebstrap: %w", err)
		}
	}
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return errors.New("mmdebstrap not found after installing it")
	}
	return nil
}
