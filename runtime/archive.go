package runtime

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
)

// MaxCopyTo bounds what CopyTo sends onto a node: a client program and
// its files, not a data set.
const MaxCopyTo = 256 << 20

// TarPath writes a tar of hostPath, whose entries start with its base
// name.
func TarPath(w io.Writer, hostPath string) error {
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
		if total += info.Size(); total > MaxCopyTo {
			return fmt.Errorf("more than %d MiB to copy", MaxCopyTo>>20)
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

// ExtractTar writes the regular files and directories of a tar stream
// under dir, creating dir if needed. Every write goes through an os.Root,
// so nothing can land outside dir; an entry whose name is not local to dir
// stops the extraction with ErrUnsafePath. Symbolic links, hard links and
// special files are skipped (and logged), so that the result never points
// outside dir either. Modes keep their permission bits, plus owner write.
func ExtractTar(r io.Reader, dir string, log *slog.Logger) error {
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
			return fmt.Errorf("%w: %q", ErrUnsafePath, hdr.Name)
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
