package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrLink is wrapped by the error for a symbolic link where lockstorm
// writes a file of a run or a campaign directory: writing through it
// would overwrite whatever file it points to.
var ErrLink = errors.New("will not write through a symbolic link")

// WriteFile writes data to path as a file of its own: a new temporary file
// in the same directory, renamed over path, so that readers never see
// half a file and nothing at path is followed. A symbolic link at path is
// refused with an error that wraps ErrLink and names it; every file that
// lockstorm writes into a run or a campaign directory is written so.
func WriteFile(path string, data []byte) error {
	if err := RefuseLinks(filepath.Dir(path), filepath.Base(path)); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// RefuseLinks returns an error that wraps ErrLink when one of names in dir
// is a symbolic link, so that a directory is refused before any of its
// files is rewritten. A name that does not exist is fine.
func RefuseLinks(dir string, names ...string) error {
	for _, name := range names {
		path := filepath.Join(dir, name)
		st, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(path)
			return fmt.Errorf("%w: %s points to %s; remove the link", ErrLink, path, target)
		}
	}
	return nil
}
