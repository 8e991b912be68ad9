package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/docker/docker/api/types/container"
)

// maxCopyTo bounds what CopyTo sends into a container: a client program
// and its files, not a data set.
const maxCopyTo = 256 << 20

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
	if err := tarPath(&buf, hostPath); err != nil {
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

// tarPath writes a tar of hostPath, whose entries start with its base
// name.
func tarPath(w io.Writer, hostPath string) error {
	tw := tar.NewWriter(w)
	base := filepath.Dir(filepath.Clean(hostPath))
	var total int64
	err := filepath.WalkDir(hostPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		if total += info.Size(); total > maxCopyTo {
			return fmt.Errorf("more than %d MiB to copy", maxCopyTo>>20)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
