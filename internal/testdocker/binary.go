package testdocker

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// lockstormPkg is the package of the lockstorm command.
const lockstormPkg = "github.com/lockstorm/lockstorm/cmd/lockstorm"

var lockstormOnce struct {
	sync.Once
	path string
	err  error
}

// Lockstorm builds the lockstorm command once per test process and
// returns the binary's path. It is built static (CGO_ENABLED=0), because
// runs copy it into their client containers, where it runs as `lockstorm
// client`. It needs no engine: tests that run the binary against a fake
// one use it too.
func Lockstorm(tb testing.TB) string {
	tb.Helper()
	lockstormOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lockstorm-bin")
		if err != nil {
			lockstormOnce.err = err
			return
		}
		lockstormOnce.path = filepath.Join(dir, "lockstorm")
		build := exec.Command("go", "build", "-o", lockstormOnce.path, lockstormPkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			lockstormOnce.err = fmt.Errorf("%w: %s", err, out)
		}
	})
	if lockstormOnce.err != nil {
		tb.Fatalf("build lockstorm: %v", lockstormOnce.err)
	}
	return lockstormOnce.path
}
