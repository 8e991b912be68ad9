package docker

import (
	"context"
	"fmt"

	"github.com/lockstorm/lockstorm/runtime"

	cerrdefs "github.com/containerd/errdefs"
)

func (c *dockerCluster) CopyFrom(ctx context.Context, node, srcPath, hostDir string) error {
	id, err := c.id(node)
	if err != nil {
		return err
	}
	rc, _, err := c.cli.CopyFromContainer(ctx, id, srcPath)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("copy %s:%s: %w: %w", node, srcPath, runtime.ErrNoSuchPath, err)
		}
		return fmt.Errorf("copy %s:%s: %w", node, srcPath, err)
	}
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	if err := runtime.ExtractTar(rc, hostDir, c.log.With("node", node)); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("copy %s:%s to %s: %w", node, srcPath, hostDir, err)
	}
	return nil
}
