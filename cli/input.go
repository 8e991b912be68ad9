package cli

import (
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/lockstorm/lockstorm/internal/inputfile"
	"github.com/lockstorm/lockstorm/store"
)

// checkInput refuses a PATH of check that is neither a regular file nor a
// run directory, and a run directory whose history.jsonl or results.json
// is not a regular file: a FIFO would block the read, and a device such as
// /dev/zero would never end it. st is the stat of path.
func checkInput(path string, st fs.FileInfo) error {
	if !st.IsDir() {
		if !st.Mode().IsRegular() {
			return usageErr("check: %s is %s, not a history file or a run directory", path, inputfile.Kind(st.Mode()))
		}
		return nil
	}
	for _, name := range []string{store.HistoryFile, store.ResultsFile} {
		if err := inputfile.Regular(filepath.Join(path, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return usageErr("check: %v", err)
		}
	}
	return nil
}
