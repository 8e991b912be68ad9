// Package keepfailed keeps the store of a failed test run, so that a
// history that a Docker test found wrong can be read after the test's
// temporary directory is gone, and become testdata.
package keepfailed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EnvDir names the directory under which failed tests' stores are kept;
// by default lockstorm-failed-tests in the system's temporary directory.
const EnvDir = "LOCKSTORM_KEEP_FAILED"

// Dir returns where the stores of failed tests go.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "lockstorm-failed-tests")
}

// OnFailure arranges that, if t has failed when it ends, the store in dir
// is copied under Dir() and the copy's path logged. Register it after the
// directory exists (t.TempDir's own cleanup runs after this one).
func OnFailure(t testing.TB, dir string) {
	t.Helper()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
		dst := filepath.Join(Dir(), name+"-"+time.Now().UTC().Format("20060102T150405.000"))
		if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
			t.Logf("keep the failed run's store: %v", err)
			return
		}
		t.Logf("the failed run's store is kept in %s", dst)
	})
}
