package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"

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
	if err := extractTar(rc, hostDir, c.log.With("node", node)); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("copy %s:%s to %s: %w", node, srcPath, hostDir, err)
	}
	return nil
}

// extractTar writes the regular files and directories of a tar stream
// under dir, creating dir if needed. Every write goes through an os.Root,
// so nothing can land outside dir; an entry whose name is not local to dir
// stops the extraction with ErrUnsafePath. Symbolic links, hard links and
// special files are skipped (and logged), so that the result never points
// outside dir either. Modes keep their permission bits, plus owner write.
func extractTar(r io.Reader, dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		name := path.Clean(hdr.Name)
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			return fmt.Errorf("%w: %q", runtime.ErrUnsafePath, hdr.Name)
		}
		perm := fs.FileMode(hdr.Mode).Perm() | 0o200
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, perm|0o100); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(root, name, perm, tr); err != nil {
				return err
			}
		default:
			log.Debug("copy skips non-regular file", "name", hdr.Name, "type", string(hdr.Typeflag))
		}
	}
}

func writeFile(root *os.Root, name string, perm fs.FileMode, r io.Reader) error {
	if d := path.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	f, err := root.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
