package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrBadStore is wrapped by the errors of CheckRoot: a store directory
// that cannot hold runs (exit 3).
var ErrBadStore = errors.New("bad store directory")

// CheckRoot reports, before anything starts, what keeps root from holding
// runs: a path to it that ends in a symbolic link to nothing (creating
// the store would fail with "file exists") or in a file, and a
// store/latest that is not a symbolic link (it could not be pointed at the
// new run). A root that does not exist yet is fine: the run creates it;
// so is a dangling store/latest, which the run replaces.
func CheckRoot(root string) error {
	for p := filepath.Clean(root); ; {
		if _, err := os.Lstat(p); err == nil {
			if why := notADir(p); why != "" {
				return fmt.Errorf("%w: %s", ErrBadStore, why)
			}
			break
		}
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		p = parent
	}
	latest := filepath.Join(root, LatestLink)
	if st, err := os.Lstat(latest); err == nil && st.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("%w: %s is not a symbolic link (lockstorm keeps %s as a link to the newest run); move it away", ErrBadStore, latest, LatestLink)
	}
	return nil
}

// notADir says what is wrong with p, which exists, as a directory to hold
// a store or a path to one; "" when it is a directory.
func notADir(p string) string {
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return Problem(p, err)
	case !st.IsDir():
		return fmt.Sprintf("%s is not a directory", p)
	}
	return ""
}

// Problem says what is wrong with path, which could not be opened or
// stat'ed (err): that it is a symbolic link to something that does not
// exist, naming both, or else err itself.
func Problem(path string, err error) string {
	if st, lerr := os.Lstat(path); lerr == nil && st.Mode()&fs.ModeSymlink != 0 && errors.Is(err, fs.ErrNotExist) {
		target, _ := os.Readlink(path)
		return fmt.Sprintf("%s is a symbolic link to %s, which does not exist", path, target)
	}
	return err.Error()
}
