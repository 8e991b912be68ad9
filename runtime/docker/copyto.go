package docker

import (
	"bytes"
	"context"
	"fmt"

	"github.com/lockstorm/lockstorm/runtime"

	"github.com/docker/docker/api/types/container"
)

// CopyTo implements runtime.Cluster: it makes dir on node and unpacks
// there a tar of hostPath (a regular file, or a directory with its
// regular files and subdirectories; links and special files are left
// out).
func (c *dockerCluster) CopyTo(ctx context.Context, node, hostPath, dir string) error {
	id, err := c.id(node)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := runtime.TarPath(&buf, hostPath); err != nil {
		return fmt.Errorf("copy %s to %s:%s: %w", hostPath, node, dir, err)
	}
	if res, err := c.exec(ctx, id, []string{"mkdir", "-p", dir}, execNoInput); err != nil || res.ExitCode != 0 {
		return fmt.Errorf("copy %s to %s: mkdir %s: %v %s", hostPath, node, dir, err, res.Stderr)
	}
	if err := c.cli.CopyToContainer(ctx, id, dir, &buf, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("copy %s to %s:%s: %w", hostPath, node, dir, err)
	}
	return nil
}
