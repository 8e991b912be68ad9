package image

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// buildNode builds the node image from the inputs with the classic builder
// and tags it as tag and LatestTag. The build's stream goes to rep, which
// shows its RUN steps.
func buildNode(ctx context.Context, cli *client.Client, tag string, in []input, opts Options, rep *report) error {
	tarball, err := contextTar(in)
	if err != nil {
		return err
	}
	log := opts.logger()
	log.Info("building node image", "tag", tag)
	start := time.Now()
	resp, err := cli.ImageBuild(ctx, bytes.NewReader(tarball), build.ImageBuildOptions{
		Tags:        []string{tag, LatestTag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		NoCache:     opts.Force,
		Labels:      map[string]string{LabelKey: LabelValue, HashLabel: tag[len(Repo)+1:]},
		Version:     build.BuilderV1,
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := copyMessages(resp.Body, rep.buildOutput()); err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		return fmt.Errorf("build %s: image missing afterwards: %w", tag, err)
	}
	log.Info("built node image", "tag", tag, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
